//! The one error type of the handlers, answered as RFC 9457 `application/problem+json`.
//! Client errors say what was wrong; internal errors are logged and never leak details.

use axum::extract::Request;
use axum::http::{header, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use serde_json::json;

/// Seconds a client should wait before retrying when the database is down.
const RETRY_AFTER_SECONDS: &str = "5";

#[derive(Debug, thiserror::Error)]
pub enum AppError {
    #[error("parameter `{name}` {reason}")]
    InvalidParameter { name: String, reason: String },
    #[error("{0}")]
    NotFound(String),
    #[error("the database is unavailable")]
    Unavailable(#[source] sqlx::Error),
    /// Started before MySQL could be reached: the migrations are not applied yet (the task
    /// applying them logs why).
    #[error("the database is not ready yet")]
    SchemaPending,
    #[error("the XMPP server is unreachable")]
    BadGateway(#[source] anyhow::Error),
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

/// At most 64 characters of a client's text quoted back in an error.
pub(crate) fn truncate(name: &str) -> String {
    match name.char_indices().nth(64) {
        Some((end, _)) => format!("{}…", &name[..end]),
        None => name.to_owned(),
    }
}

/// For the resources that take no parameters: the first one given is refused by name, as the
/// incident resources refuse an unknown one.
pub async fn no_parameters(request: Request, next: Next) -> Result<Response, AppError> {
    let query = request.uri().query().unwrap_or_default();
    match form_urlencoded::parse(query.as_bytes()).next() {
        Some((name, _)) => Err(AppError::invalid(
            truncate(&name),
            "is not a known parameter (this resource takes none)",
        )),
        None => Ok(next.run(request).await),
    }
}

impl AppError {
    pub fn invalid(name: impl Into<String>, reason: impl Into<String>) -> AppError {
        AppError::InvalidParameter {
            name: name.into(),
            reason: reason.into(),
        }
    }
}

impl From<sqlx::Error> for AppError {
    fn from(error: sqlx::Error) -> AppError {
        if vigie_store::is_unavailable(&error) {
            AppError::Unavailable(error)
        } else {
            AppError::Internal(error.into())
        }
    }
}

impl IntoResponse for AppError {
    fn into_response(self) -> Response {
        let (status, mut body) = match &self {
            AppError::InvalidParameter { name, .. } => (
                StatusCode::BAD_REQUEST,
                json!({ "title": "Invalid parameter", "detail": self.to_string(), "parameter": name }),
            ),
            AppError::NotFound(_) => (
                StatusCode::NOT_FOUND,
                json!({ "title": "Not found", "detail": self.to_string() }),
            ),
            AppError::Unavailable(error) => {
                tracing::warn!(%error, "database unavailable");
                database_unavailable()
            }
            AppError::SchemaPending => database_unavailable(),
            AppError::BadGateway(error) => {
                tracing::warn!(error = format!("{error:#}"), "XMPP upstream unreachable");
                (
                    StatusCode::BAD_GATEWAY,
                    json!({ "title": "Bad gateway", "detail": self.to_string() }),
                )
            }
            AppError::Internal(error) => {
                tracing::error!(error = format!("{error:#}"), "internal error");
                (
                    StatusCode::INTERNAL_SERVER_ERROR,
                    json!({ "title": "Internal server error" }),
                )
            }
        };
        body["type"] = "about:blank".into();
        body["status"] = status.as_u16().into();
        let mut response = (status, body.to_string()).into_response();
        let headers = response.headers_mut();
        headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/problem+json"),
        );
        if status == StatusCode::SERVICE_UNAVAILABLE {
            headers.insert(
                header::RETRY_AFTER,
                HeaderValue::from_static(RETRY_AFTER_SECONDS),
            );
        }
        response
    }
}

/// The 503 answer, the same whether MySQL went away or has not been reached since the start.
fn database_unavailable() -> (StatusCode, serde_json::Value) {
    (
        StatusCode::SERVICE_UNAVAILABLE,
        json!({ "title": "Service unavailable", "detail": "The database is unavailable; retry later." }),
    )
}

/// Unknown paths under `/api`.
pub async fn api_not_found() -> AppError {
    AppError::NotFound("no such API resource".into())
}
