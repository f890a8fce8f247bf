//! Validating an IATI activity file against the official 2.03 schema with `xmllint`.
//!
//! The four XSDs are compiled into the binary and written to a private temporary directory for
//! each check, so the check needs no file of the source tree. `xmllint` (libxml2, Debian's
//! `libxml2-utils`) reads the file as a stream (`--stream`: bounded memory whatever its size),
//! never touches the network (`--nonet`) and substitutes no entity.

use std::path::Path;
use std::process::Command;

const SCHEMAS: [(&str, &str); 4] = [
    (
        "iati-activities-schema.xsd",
        include_str!("../../iati/schemas/iati-activities-schema.xsd"),
    ),
    (
        "iati-organisations-schema.xsd",
        include_str!("../../iati/schemas/iati-organisations-schema.xsd"),
    ),
    (
        "iati-common.xsd",
        include_str!("../../iati/schemas/iati-common.xsd"),
    ),
    ("xml.xsd", include_str!("../../iati/schemas/xml.xsd")),
];

/// One message of the schema check: the line it names (when it names one) and the message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SchemaMessage {
    pub line: Option<u64>,
    pub message: String,
}

impl std::fmt::Display for SchemaMessage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.line {
            Some(line) => write!(f, "line {line}: {}", self.message),
            None => f.write_str(&self.message),
        }
    }
}

/// Why the check could not run.
#[derive(Debug, thiserror::Error)]
pub enum SchemaCheckError {
    #[error(
        "xmllint cannot be run ({0}): the IATI schema check needs it (Debian: `apt-get install \
         libxml2-utils`)"
    )]
    NoXmllint(std::io::Error),
    #[error("the schemas cannot be written to a temporary directory: {0}")]
    Io(#[from] std::io::Error),
}

/// Checks the activity file at `file` against the IATI 2.03 activity schema: an empty list when
/// it is valid, else xmllint's messages, each with the line it names. Well-formedness is checked
/// in a pass of its own first: with `--schema`, xmllint's stream reader reports a file that is
/// not well-formed without the line.
///
/// # Errors
/// When xmllint cannot be run or the schemas cannot be written.
pub fn check_activity_file(file: &Path) -> Result<Vec<SchemaMessage>, SchemaCheckError> {
    let well_formed = xmllint(&["--noout", "--nonet", "--stream"], file)?;
    if !well_formed.is_empty() {
        return Ok(well_formed);
    }
    let directory = tempfile::tempdir()?;
    for (name, text) in SCHEMAS {
        std::fs::write(directory.path().join(name), text)?;
    }
    let schema = directory.path().join(SCHEMAS[0].0);
    let schema = schema.to_string_lossy();
    xmllint(
        &["--noout", "--nonet", "--stream", "--schema", &schema],
        file,
    )
}

/// Runs xmllint with `args` on `file`: its messages about the file, none when it succeeds.
fn xmllint(args: &[&str], file: &Path) -> Result<Vec<SchemaMessage>, SchemaCheckError> {
    let output = Command::new("xmllint")
        .args(args)
        .arg(file)
        .output()
        .map_err(SchemaCheckError::NoXmllint)?;
    if output.status.success() {
        return Ok(Vec::new());
    }
    let report = String::from_utf8_lossy(&output.stderr);
    let prefix = format!("{}:", file.display());
    // Only the lines about the file: not the echoed source line and caret under a parser error,
    // nor xmllint's own verdicts and notes.
    let mut messages: Vec<SchemaMessage> = report
        .lines()
        .filter_map(|line| line.strip_prefix(&prefix))
        .map(parse_message)
        .filter(|message| message.line.is_some())
        .collect();
    if messages.is_empty() {
        messages.push(SchemaMessage {
            line: None,
            message: format!(
                "xmllint refused the file ({}): {}",
                output.status,
                report.lines().collect::<Vec<_>>().join(" / ")
            ),
        });
    }
    Ok(messages)
}

/// `12: Schemas validity error : Element 'x': …` → line 12 and the message.
fn parse_message(rest: &str) -> SchemaMessage {
    let (line, message) = match rest.split_once(':') {
        Some((number, message)) if number.parse::<u64>().is_ok() => {
            (number.parse().ok(), message.trim())
        }
        _ => (None, rest.trim()),
    };
    let message = message
        .strip_prefix("Schemas validity error : ")
        .or_else(|| message.strip_prefix("parser error : "))
        .unwrap_or(message);
    SchemaMessage {
        line,
        message: message.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_name_their_line() {
        assert_eq!(
            parse_message(
                "5: Schemas validity error : Element 'iati-activity', attribute 'hierarchy': \
                 'string' is not a valid value of the atomic type 'xs:int'."
            ),
            SchemaMessage {
                line: Some(5),
                message: "Element 'iati-activity', attribute 'hierarchy': 'string' is not a \
                          valid value of the atomic type 'xs:int'."
                    .to_owned()
            }
        );
        assert_eq!(
            parse_message(" no line here").line,
            None,
            "a message without a line keeps its text"
        );
    }
}
