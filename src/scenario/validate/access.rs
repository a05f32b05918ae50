//! Credentials and TLS: where secrets come from (an environment variable or
//! a file, checked to exist now, read only when the run starts) and how
//! certificates are verified.

use std::path::Path;

use crate::plan::{AuthRef, SecretSource, TlsPlan};
use crate::scenario::format::{AuthSpec, TlsSpec};
use crate::spec::{FieldPath, Validator};

fn secret_source(
    v: &mut Validator,
    path: &FieldPath,
    (env_field, env): (&str, &Option<String>),
    (file_field, file): (&str, &Option<String>),
    base_dir: &Path,
) -> Option<SecretSource> {
    match (env, file) {
        (Some(_), Some(_)) => {
            v.problem(
                path.clone(),
                format!("choose one: `{env_field}` or `{file_field}`"),
            );
            None
        }
        (Some(name), None) => {
            if std::env::var_os(name).is_none_or(|value| value.is_empty()) {
                v.problem(
                    path.key(env_field),
                    format!("the environment variable `{name}` is not set (or empty)"),
                );
                return None;
            }
            Some(SecretSource::Env(name.clone()))
        }
        (None, Some(file)) => {
            let resolved = base_dir.join(file);
            if std::fs::metadata(&resolved)
                .map(|m| m.is_file())
                .unwrap_or(false)
            {
                Some(SecretSource::File(resolved))
            } else {
                v.problem(
                    path.key(file_field),
                    format!("cannot read `{}`", resolved.display()),
                );
                None
            }
        }
        (None, None) => {
            v.problem(
                path.clone(),
                format!("give `{env_field}` or `{file_field}`"),
            );
            None
        }
    }
}

pub(super) fn validate_auth(
    v: &mut Validator,
    spec: &AuthSpec,
    path: &FieldPath,
    base_dir: &Path,
) -> Option<AuthRef> {
    let bearer = spec.bearer_token_env.is_some() || spec.bearer_token_file.is_some();
    match (bearer, &spec.basic) {
        (true, Some(_)) => {
            v.problem(path.clone(), "choose one: a bearer token or `basic`");
            None
        }
        (true, None) => secret_source(
            v,
            path,
            ("bearer_token_env", &spec.bearer_token_env),
            ("bearer_token_file", &spec.bearer_token_file),
            base_dir,
        )
        .map(|token| AuthRef::Bearer { token }),
        (false, Some(basic)) => {
            let basic_path = path.key("basic");
            if basic.username.is_empty() || basic.username.contains(':') {
                v.problem(
                    basic_path.key("username"),
                    "the username must be non-empty and contain no `:`",
                );
            }
            secret_source(
                v,
                &basic_path,
                ("password_env", &basic.password_env),
                ("password_file", &basic.password_file),
                base_dir,
            )
            .map(|password| AuthRef::Basic {
                username: basic.username.clone(),
                password,
            })
        }
        (false, None) => {
            v.problem(
                path.clone(),
                "auth needs `bearer_token_env`, `bearer_token_file` or `basic`",
            );
            None
        }
    }
}

pub(super) fn validate_tls(
    v: &mut Validator,
    spec: &TlsSpec,
    path: &FieldPath,
    base_dir: &Path,
) -> TlsPlan {
    let ca_file = spec.ca_file.as_ref().and_then(|file| {
        let resolved = base_dir.join(file);
        if resolved.is_file() {
            Some(resolved)
        } else {
            v.problem(
                path.key("ca_file"),
                format!("cannot read `{}`", resolved.display()),
            );
            None
        }
    });
    TlsPlan {
        ca_file,
        insecure_skip_verify: spec.insecure_skip_verify.unwrap_or(false),
    }
}
