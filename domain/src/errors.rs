//! Errors with their causes: [`Cause`], the shareable source an infrastructure failure carries
//! ([`crate::ports::StoreError`]), and [`Chain`], which prints an error with every cause under
//! it — what logs and the command line show.

use std::error::Error;
use std::fmt;
use std::sync::Arc;

/// The error that caused a failure, kept (not flattened into text) so that the log shows the
/// real chain; shareable, so that the error holding it stays `Clone`.
#[derive(Clone)]
pub struct Cause(Arc<dyn Error + Send + Sync>);

impl Cause {
    pub fn new(error: impl Error + Send + Sync + 'static) -> Self {
        Self(Arc::new(error))
    }
}

impl fmt::Debug for Cause {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&self.0, f)
    }
}

impl fmt::Display for Cause {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.0, f)
    }
}

impl Error for Cause {
    fn source(&self) -> Option<&(dyn Error + 'static)> {
        self.0.source()
    }
}

/// Two causes are equal when they read the same (errors rarely compare; tests compare the text).
impl PartialEq for Cause {
    fn eq(&self, other: &Self) -> bool {
        Chain(self).to_string() == Chain(other).to_string()
    }
}

impl Eq for Cause {}

/// An error and its causes on one line, `outer: inner: innermost`. A cause whose text the line
/// already holds (an error that prints its source in its own message, as `#[error("…: {0}")]`
/// with `#[from]` does) is not repeated.
pub struct Chain<'a>(pub &'a (dyn Error + 'a));

impl fmt::Display for Chain<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut line = self.0.to_string();
        let mut source = self.0.source();
        while let Some(cause) = source {
            let text = cause.to_string();
            if !line.contains(&text) {
                line.push_str(": ");
                line.push_str(&text);
            }
            source = cause.source();
        }
        f.write_str(&line)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, thiserror::Error)]
    #[error("outer")]
    struct Outer(#[source] Cause);

    #[test]
    fn a_chain_prints_every_cause_once() {
        let io = std::io::Error::other("disk on fire");
        let outer = Outer(Cause::new(io));
        assert_eq!(Chain(&outer).to_string(), "outer: disk on fire");
        assert_eq!(outer.0, Cause::new(std::io::Error::other("disk on fire")));
    }

    #[derive(Debug, thiserror::Error)]
    #[error("wrapped: {0}")]
    struct Wrapped(#[from] Outer);

    #[test]
    fn a_cause_the_message_already_prints_is_not_repeated() {
        let wrapped = Wrapped(Outer(Cause::new(std::io::Error::other("disk on fire"))));
        assert_eq!(Chain(&wrapped).to_string(), "wrapped: outer: disk on fire");
    }
}
