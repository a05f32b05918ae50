//! The admin API of a standalone demo gateway: read and set its faults over
//! HTTP, on a port of its own (the gateway's port goes away when it is down).
//!
//! GET /faults → the faults in force; PUT /faults with a JSON body → set them
//! (fields omitted are healthy; shares, the memory hog's cap and the CPU
//! burn's cores are checked first, a refusal is a 400); DELETE /faults →
//! restore health.

use std::sync::Arc;

use http_body_util::{BodyExt, Limited};
use hyper::{Method, StatusCode};

use super::server::{Handler, ResponseFuture};
use super::{json_response, text_response, DemoStack, Faults};

pub fn handler(stack: Arc<DemoStack>) -> Handler {
    Arc::new(move |request| -> ResponseFuture {
        let stack = stack.clone();
        Box::pin(async move {
            if request.uri().path() != "/faults" {
                return text_response(StatusCode::NOT_FOUND, "Not found: use /faults");
            }
            let method = request.method().clone();
            let faults = match method {
                Method::GET => return faults_response(&stack),
                Method::DELETE => Faults::default(),
                Method::PUT | Method::POST => {
                    let body = match Limited::new(request.into_body(), 64 * 1024).collect().await {
                        Ok(body) => body.to_bytes(),
                        Err(_) => return text_response(StatusCode::BAD_REQUEST, "body too large"),
                    };
                    match serde_json::from_slice::<Faults>(&body) {
                        Ok(faults) => match stack.check(&faults) {
                            Ok(()) => faults,
                            Err(refused) => {
                                return text_response(StatusCode::BAD_REQUEST, &refused.to_string())
                            }
                        },
                        Err(e) => {
                            return text_response(
                                StatusCode::BAD_REQUEST,
                                &format!("invalid faults JSON: {e}"),
                            )
                        }
                    }
                }
                _ => return text_response(StatusCode::METHOD_NOT_ALLOWED, "Method not allowed"),
            };
            match stack.set_faults(&faults) {
                Ok(()) => faults_response(&stack),
                Err(e) => text_response(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    &format!("could not apply faults: {e}"),
                ),
            }
        })
    })
}

fn faults_response(stack: &DemoStack) -> hyper::Response<http_body_util::Full<bytes::Bytes>> {
    match serde_json::to_value(stack.faults()) {
        Ok(value) => json_response(StatusCode::OK, &value),
        Err(e) => text_response(StatusCode::INTERNAL_SERVER_ERROR, &e.to_string()),
    }
}
