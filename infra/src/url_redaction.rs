//! Showing a configured URL (the database URL, a JWKS URL) without the credentials it may carry,
//! for `amanah config`, log lines and error messages. The URL itself is kept as it is for use.
//!
//! [`redact_url`] works on the text, not on a parsed URL, so that a value no URL parser accepts
//! (an unencoded `/`, `?` or `@` in a password, say) cannot leak either. It replaces with
//! [`REDACTED`]:
//!
//! * the password of the userinfo (`postgres://user:REDACTED@host/db`); a userinfo without a
//!   password is replaced whole, since a lone userinfo is often a token
//!   (`https://TOKEN@host/jwks.json`);
//! * the value of every query or fragment parameter whose name looks like a credential
//!   ([`CREDENTIAL_NAME_PARTS`], e.g. `password`, `token`, `key`, `secret`, `sig`), and every
//!   parameter that has no `=` (a bare token);
//! * when in doubt — an `@` after the first `/` of the authority, or one in the query or fragment,
//!   where the end of the userinfo cannot be told — everything from the scheme to the last `@`,
//!   and the whole query and fragment.

/// What stands in for a removed credential.
pub const REDACTED: &str = "[redacted]";

/// A query or fragment parameter whose name contains one of these (ignoring case) holds a
/// credential. Deliberately broad: redacting a harmless value costs nothing, printing a secret
/// cannot be undone. `sig` covers `sig` and `signature`, `pass` covers `password` and `passwd`,
/// `key` covers `api_key`, `apikey` and `sslkey`.
pub const CREDENTIAL_NAME_PARTS: &[&str] = &[
    "pass",
    "pwd",
    "secret",
    "token",
    "key",
    "sig",
    "auth",
    "credential",
    "session",
    "cookie",
    "jwt",
    "bearer",
];

/// `url` with its credentials replaced by [`REDACTED`] (see the module documentation).
#[must_use]
pub fn redact_url(url: &str) -> String {
    let (scheme, rest) = match url.find("://") {
        Some(at) => url.split_at(at + 3),
        None => ("", url),
    };
    let Some(last_at) = rest.rfind('@') else {
        return format!("{scheme}{}", redact_parameters(rest));
    };
    let authority_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    if last_at > authority_end {
        // The userinfo may run up to any of the `@`s: hide all of it, and the whole query.
        let after = &rest[last_at + 1..];
        return format!("{scheme}{REDACTED}@{}", redact_everything_after_path(after));
    }
    let (userinfo, after) = (&rest[..last_at], &rest[last_at + 1..]);
    let shown_userinfo = match userinfo.split_once(':') {
        Some((user, _password)) if !user.is_empty() => format!("{user}:{REDACTED}"),
        _ => REDACTED.to_owned(),
    };
    format!("{scheme}{shown_userinfo}@{}", redact_parameters(after))
}

/// `text` (host and path, then `?query` and `#fragment`) with credential parameters redacted.
fn redact_parameters(text: &str) -> String {
    let (before_fragment, fragment) = match text.split_once('#') {
        Some((before, fragment)) => (before, Some(fragment)),
        None => (text, None),
    };
    let (path, query) = match before_fragment.split_once('?') {
        Some((path, query)) => (path, Some(query)),
        None => (before_fragment, None),
    };
    let mut shown = path.to_owned();
    if let Some(query) = query {
        shown.push('?');
        shown.push_str(&redact_pairs(query));
    }
    if let Some(fragment) = fragment {
        shown.push('#');
        shown.push_str(&redact_pairs(fragment));
    }
    shown
}

/// `text` with any query and fragment replaced whole.
fn redact_everything_after_path(text: &str) -> String {
    let path_end = text.find(['?', '#']).unwrap_or(text.len());
    let (path, tail) = text.split_at(path_end);
    let mut shown = path.to_owned();
    if tail.contains('?') {
        shown.push('?');
        shown.push_str(REDACTED);
    }
    if tail.contains('#') {
        shown.push('#');
        shown.push_str(REDACTED);
    }
    shown
}

/// `a=1&password=x&tok` → `a=1&password=[redacted]&[redacted]`.
fn redact_pairs(pairs: &str) -> String {
    pairs
        .split('&')
        .map(|pair| match pair.split_once('=') {
            _ if pair.is_empty() => String::new(),
            Some((name, _value)) if is_credential_name(name) => format!("{name}={REDACTED}"),
            Some(_) => pair.to_owned(),
            None => REDACTED.to_owned(),
        })
        .collect::<Vec<_>>()
        .join("&")
}

/// Whether a parameter name looks like a credential; a percent-encoded or `+`-spelled name cannot
/// be judged by its text and counts as one.
fn is_credential_name(name: &str) -> bool {
    let name = name.to_ascii_lowercase();
    name.contains(['%', '+']) || CREDENTIAL_NAME_PARTS.iter().any(|part| name.contains(part))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_without_credentials_are_unchanged() {
        for url in [
            "sqlite://./amanah-data/amanah.db?mode=rwc",
            "sqlite::memory:",
            "postgres://db.example:5432/amanah?sslmode=require&application_name=x",
            "https://idp.example/realms/amanah/protocol/openid-connect/certs",
            "/etc/amanah/jwks.json",
        ] {
            assert_eq!(redact_url(url), url);
        }
    }

    #[test]
    fn the_password_of_the_userinfo_is_redacted_and_the_user_kept() {
        assert_eq!(
            redact_url("postgres://amanah:hunter2@db.example:5432/amanah"),
            "postgres://amanah:[redacted]@db.example:5432/amanah"
        );
        assert_eq!(
            redact_url("postgresql://amanah:pa:ss@[::1]:5432/amanah"),
            "postgresql://amanah:[redacted]@[::1]:5432/amanah"
        );
        // An unencoded `@` in the password: the last `@` before the path ends the userinfo.
        assert_eq!(
            redact_url("postgres://amanah:p@ss@db/amanah"),
            "postgres://amanah:[redacted]@db/amanah"
        );
    }

    #[test]
    fn a_lone_userinfo_is_taken_for_a_token() {
        assert_eq!(
            redact_url("https://ghp_abc123@keys.example/jwks.json"),
            "https://[redacted]@keys.example/jwks.json"
        );
        assert_eq!(
            redact_url("https://:secret@keys.example/jwks.json"),
            "https://[redacted]@keys.example/jwks.json"
        );
    }

    #[test]
    fn credential_parameters_are_redacted_and_the_others_kept() {
        assert_eq!(
            redact_url("postgres://amanah:hunter2@db/amanah?sslmode=require&password=hunter2"),
            "postgres://amanah:[redacted]@db/amanah?sslmode=require&password=[redacted]"
        );
        assert_eq!(
            redact_url(
                "https://keys.example/jwks.json?token=t1&KEY=k1&client_secret=s1&Password=p1\
                 &access_token=a1&sig=g1&api_key=x1&version=2&bare-token"
            ),
            "https://keys.example/jwks.json?token=[redacted]&KEY=[redacted]\
             &client_secret=[redacted]&Password=[redacted]&access_token=[redacted]\
             &sig=[redacted]&api_key=[redacted]&version=2&[redacted]"
        );
        assert_eq!(
            redact_url("https://keys.example/jwks.json#access_token=a1&state=ok"),
            "https://keys.example/jwks.json#access_token=[redacted]&state=ok"
        );
        // A name that is percent-encoded cannot be read: its value is hidden.
        assert_eq!(
            redact_url("sqlite://x.db?pass%77ord=p1&mode=rwc"),
            "sqlite://x.db?pass%77ord=[redacted]&mode=rwc"
        );
    }

    #[test]
    fn urls_no_parser_accepts_leak_nothing() {
        let cases = [
            // `/` in the password: a URL parser ends the authority there (port "pa").
            (
                "postgres://amanah:pa/ss@db/amanah?password=pw",
                ["pa/ss", "pw"],
            ),
            // `?` and `#` in the password.
            ("postgres://amanah:pa?ss@db/amanah", ["pa?ss", "ss@"]),
            ("postgres://amanah:pa#ss@db/amanah#x", ["pa#ss", "ss@"]),
            // An `@` in the query: the userinfo may reach it.
            ("postgres://amanah:s3cr3t@db/a?user=me@x", ["s3cr3t", "me@"]),
            // No scheme separator at all.
            ("amanah:s3cr3t@db/amanah", ["s3cr3t", "amanah:s"]),
            ("postgres:/amanah:s3cr3t@db", ["s3cr3t", "amanah:s"]),
        ];
        for (url, secrets) in cases {
            let shown = redact_url(url);
            for secret in secrets {
                assert!(!shown.contains(secret), "{url} → {shown}");
            }
            assert!(shown.contains(REDACTED), "{url} → {shown}");
        }
        assert_eq!(
            redact_url("postgres://amanah:pa/ss@db/amanah?password=pw&sslmode=require"),
            "postgres://[redacted]@db/amanah?[redacted]"
        );
    }
}
