//! The server's configuration: command-line flags, each with an environment variable.

use std::net::SocketAddr;
use std::path::PathBuf;

use axum::http::Uri;
use clap::Parser;

#[derive(Debug, Clone, Parser)]
#[command(
    name = "vigie-server",
    version,
    about = "Vigie's incident history API, dashboard host and XMPP proxy"
)]
pub struct Config {
    /// Address to listen on.
    #[arg(long, env = "VIGIE_LISTEN", default_value = "127.0.0.1:8080")]
    pub listen: SocketAddr,

    /// MySQL / MariaDB URL, e.g. mysql://user:password@127.0.0.1:3306/vigie. Migrations are
    /// applied at start, as soon as MySQL answers (the server serves meanwhile).
    #[arg(long, env = "DATABASE_URL", hide_env_values = true)]
    pub database_url: String,

    /// The dashboard built by Trunk (its `dist/` folder). Without it only the API is served.
    #[arg(long, env = "VIGIE_DIST")]
    pub dist: Option<PathBuf>,

    /// Prosody's HTTP port, where `/xmpp-websocket` and `/http-bind` are proxied to.
    #[arg(long, env = "PROSODY_HTTP_URL", default_value = "http://127.0.0.1:5280", value_parser = parse_upstream)]
    pub prosody_http_url: Uri,

    /// WebSocket URL the browser should use, when not this server's own `/xmpp-websocket`.
    #[arg(long, env = "XMPP_WS_PUBLIC_URL")]
    pub xmpp_ws_public_url: Option<String>,

    /// BOSH URL the browser should use, when not this server's own `/http-bind`.
    #[arg(long, env = "XMPP_BOSH_PUBLIC_URL")]
    pub xmpp_bosh_public_url: Option<String>,

    /// Origins allowed to call the API from other sites (CORS), comma-separated. None by default.
    #[arg(long, env = "VIGIE_CORS_ORIGINS", value_delimiter = ',')]
    pub cors_origins: Vec<String>,

    /// Log as JSON lines instead of text.
    #[arg(long, env = "VIGIE_LOG_JSON")]
    pub log_json: bool,
}

impl Config {
    /// The defaults, with this database: what an in-process test needs.
    pub fn with_database(database_url: impl Into<String>) -> Config {
        Config {
            listen: ([127, 0, 0, 1], 8080).into(),
            database_url: database_url.into(),
            dist: None,
            prosody_http_url: Uri::from_static("http://127.0.0.1:5280"),
            xmpp_ws_public_url: None,
            xmpp_bosh_public_url: None,
            cors_origins: Vec::new(),
            log_json: false,
        }
    }
}

fn parse_upstream(value: &str) -> Result<Uri, String> {
    let uri: Uri = value.parse().map_err(|e| format!("not a URL: {e}"))?;
    if uri.scheme_str() != Some("http") || uri.authority().is_none() {
        return Err("must be an http:// URL with a host (Prosody's HTTP port)".into());
    }
    Ok(uri)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flags_parse_with_defaults() {
        let config =
            Config::try_parse_from(["vigie-server", "--database-url", "mysql://x@y/z"]).unwrap();
        assert_eq!(config.listen.to_string(), "127.0.0.1:8080");
        assert_eq!(config.prosody_http_url, "http://127.0.0.1:5280");
        assert!(Config::try_parse_from([
            "vigie-server",
            "--database-url",
            "m",
            "--prosody-http-url",
            "ftp://x"
        ])
        .is_err());
        let config = Config::try_parse_from([
            "vigie-server",
            "--database-url",
            "m",
            "--cors-origins",
            "http://a,http://b",
        ])
        .unwrap();
        assert_eq!(config.cors_origins, ["http://a", "http://b"]);
    }
}
