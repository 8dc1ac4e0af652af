//! How an error reads to a person: the error and its causes on one line, `a: b: c`, each cause
//! once. Library errors here keep their cause as `source()` and leave it out of their own
//! message; some dependencies (the `image` crate) also repeat their cause in their message, so
//! a cause whose text is already on the line is not written again.

use std::error::Error;

/// `err` and its causes, each once.
pub fn chain(err: &(dyn Error + 'static)) -> String {
    let mut line = err.to_string();
    let mut cause = err.source();
    while let Some(e) = cause {
        let text = e.to_string();
        if !text.is_empty() && !line.contains(&text) {
            line.push_str(": ");
            line.push_str(&text);
        }
        cause = e.source();
    }
    line
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, thiserror::Error)]
    #[error("{path}: cannot read")]
    struct Outer {
        path: String,
        source: std::io::Error,
    }

    #[derive(Debug, thiserror::Error)]
    #[error("decoding failed: {0}")]
    struct Repeats(#[source] std::io::Error);

    #[test]
    fn each_cause_is_written_once() {
        let io = || std::io::Error::new(std::io::ErrorKind::NotFound, "no such file");
        let err = Outer { path: "/nonexistent".into(), source: io() };
        assert_eq!(chain(&err), "/nonexistent: cannot read: no such file");
        assert_eq!(chain(&Repeats(io())), "decoding failed: no such file");
    }
}
