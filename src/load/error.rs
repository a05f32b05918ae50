//! What can go wrong before or while the engine sends: a target that cannot
//! be reached as written, a request that cannot be encoded, an engine that
//! cannot start. Each keeps its cause (`#[source]`); nothing here knows how
//! a command turns them into exit codes.

use std::path::PathBuf;

use hyper::header::{InvalidHeaderName, InvalidHeaderValue};
use hyper::http::method::InvalidMethod;
use hyper::http::uri::InvalidUri;
use tokio_rustls::rustls;

#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    #[error("target `{url}`: {source}")]
    Target {
        url: String,
        #[source]
        source: TargetError,
    },
    #[error("request `{path}`: {source}")]
    Request {
        path: String,
        #[source]
        source: RequestError,
    },
    #[error("load engine: phase `{phase}` has no request to send")]
    NoRequest { phase: String },
    #[error("load engine: phase `{phase}` sends no traffic")]
    Idle { phase: String },
    #[error("load engine: cannot start a load thread: {0}")]
    Thread(#[source] std::io::Error),
    #[error("load engine: cannot start a load runtime: {0}")]
    Runtime(#[source] std::io::Error),
    #[error("load engine: a load thread panicked")]
    Panicked,
}

/// Why a target URL cannot be sent to.
#[derive(Debug, thiserror::Error)]
pub enum TargetError {
    #[error("the URL must start with http:// or https://")]
    Scheme,
    #[error("cannot resolve: {0}")]
    Resolve(#[source] std::io::Error),
    #[error("resolves to no address")]
    NoAddress,
    #[error(transparent)]
    Tls(#[from] TlsError),
}

/// Why TLS for a target cannot be set up.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    #[error("TLS: {0}")]
    Config(#[source] rustls::Error),
    #[error("CA file `{}`: {source}", path.display())]
    CaFile {
        path: PathBuf,
        #[source]
        source: rustls::pki_types::pem::Error,
    },
    #[error("CA file `{}` holds no certificate", path.display())]
    CaEmpty { path: PathBuf },
    #[error("CA file `{}`: {source}", path.display())]
    CaCertificate {
        path: PathBuf,
        #[source]
        source: rustls::Error,
    },
    #[error("`{host}` is not a TLS server name: {source}")]
    ServerName {
        host: String,
        #[source]
        source: rustls::pki_types::InvalidDnsNameError,
    },
}

/// Why a request template cannot be encoded.
#[derive(Debug, thiserror::Error)]
pub enum RequestError {
    #[error("invalid method `{method}`")]
    Method {
        method: String,
        #[source]
        source: InvalidMethod,
    },
    #[error("invalid path `{path}`: {source}")]
    Path {
        path: String,
        #[source]
        source: InvalidUri,
    },
    #[error("invalid host: {0}")]
    Host(#[source] InvalidHeaderValue),
    #[error("invalid header name `{name}`: {source}")]
    HeaderName {
        name: String,
        #[source]
        source: InvalidHeaderName,
    },
    #[error("invalid value for header `{name}`: {source}")]
    HeaderValue {
        name: String,
        #[source]
        source: InvalidHeaderValue,
    },
    /// The value itself is never printed: it is a secret.
    #[error("the credentials are not a valid header value")]
    Credentials(#[source] InvalidHeaderValue),
}
