//! Credentials at run time: read from where the plan says (an environment
//! variable or a file) when the run starts, held in a type that never
//! prints its value (Debug and Display are redacted, there is no Serialize),
//! and turned into an `Authorization` header only at the moment of use.

use std::fmt;

use base64::Engine as _;

use crate::setup::{AuthRef, SecretSource};

/// A credential. Formatting it prints `***`.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Credentials {
    Bearer(Secret),
    Basic { username: String, password: Secret },
}

impl Credentials {
    /// The value of an `Authorization` header.
    pub fn authorization(&self) -> Secret {
        match self {
            Credentials::Bearer(token) => Secret(format!("Bearer {}", token.expose())),
            Credentials::Basic { username, password } => {
                let pair = format!("{username}:{}", password.expose());
                Secret(format!(
                    "Basic {}",
                    base64::engine::general_purpose::STANDARD.encode(pair)
                ))
            }
        }
    }

    /// What a report may say about it: the scheme and where it came from.
    pub fn describe(auth: &AuthRef) -> String {
        let source = |s: &SecretSource| match s {
            SecretSource::Env(name) => format!("environment variable {name}"),
            SecretSource::File(path) => format!("file {}", path.display()),
        };
        match auth {
            AuthRef::Bearer { token } => format!("bearer token from {}", source(token)),
            AuthRef::Basic { username, password } => {
                format!(
                    "basic auth as `{username}`, password from {}",
                    source(password)
                )
            }
        }
    }
}

#[derive(Debug, thiserror::Error)]
#[error("cannot read a credential from {source_name}: {reason}")]
pub struct SecretError {
    pub source_name: String,
    pub reason: String,
}

fn read(source: &SecretSource) -> Result<Secret, SecretError> {
    let value = match source {
        SecretSource::Env(name) => std::env::var(name).map_err(|_| SecretError {
            source_name: format!("environment variable {name}"),
            reason: "not set, or not UTF-8".into(),
        })?,
        SecretSource::File(path) => std::fs::read_to_string(path).map_err(|e| SecretError {
            source_name: format!("file {}", path.display()),
            reason: e.kind().to_string(),
        })?,
    };
    // Files usually end with a newline that is not part of the secret.
    let value = value.trim_end_matches(['\r', '\n']).to_string();
    if value.is_empty() || value.contains(['\r', '\n']) {
        return Err(SecretError {
            source_name: match source {
                SecretSource::Env(name) => format!("environment variable {name}"),
                SecretSource::File(path) => format!("file {}", path.display()),
            },
            reason: "empty, or more than one line".into(),
        });
    }
    Ok(Secret(value))
}

pub fn resolve(auth: &AuthRef) -> Result<Credentials, SecretError> {
    Ok(match auth {
        AuthRef::Bearer { token } => Credentials::Bearer(read(token)?),
        AuthRef::Basic { username, password } => Credentials::Basic {
            username: username.clone(),
            password: read(password)?,
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_never_format_their_value() {
        let secret = Secret("hunter2".into());
        assert_eq!(format!("{secret} {secret:?}"), "*** ***");
        let credentials = Credentials::Basic {
            username: "u".into(),
            password: secret,
        };
        assert!(!format!("{credentials:?}").contains("hunter2"));
        assert_eq!(credentials.authorization().expose(), "Basic dTpodW50ZXIy");
    }
}
