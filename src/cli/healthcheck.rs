//! `healthcheck`: a dependency-free HTTP GET for container health checks
//! (the final image has no curl). Exit 0 on a 2xx answer.

use crate::process::exit;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

#[derive(Debug, Clone, clap::Args)]
pub struct HealthcheckArgs {
    /// URL to fetch; plain http only.
    #[arg(long, default_value = "http://127.0.0.1:9710/-/healthy")]
    pub url: String,
    /// Seconds allowed for the whole request.
    #[arg(long, default_value_t = 3.0)]
    pub timeout: f64,
}

pub async fn healthcheck(args: HealthcheckArgs) -> u8 {
    let Some(rest) = args.url.strip_prefix("http://") else {
        eprintln!("error: only http:// URLs are supported");
        return exit::USAGE;
    };
    let (authority, path) = match rest.find('/') {
        Some(i) => (&rest[..i], &rest[i..]),
        None => (rest, "/"),
    };
    let timeout = Duration::from_secs_f64(if args.timeout.is_finite() && args.timeout > 0.0 {
        args.timeout.min(60.0)
    } else {
        3.0
    });
    let request = format!("GET {path} HTTP/1.1\r\nHost: {authority}\r\nConnection: close\r\n\r\n");
    let result = tokio::time::timeout(timeout, async {
        let mut stream = tokio::net::TcpStream::connect(authority).await?;
        stream.write_all(request.as_bytes()).await?;
        let mut head = vec![0u8; 64];
        let n = stream.read(&mut head).await?;
        Ok::<_, std::io::Error>(String::from_utf8_lossy(&head[..n]).to_string())
    })
    .await;
    match result {
        Ok(Ok(head))
            if head
                .split(' ')
                .nth(1)
                .is_some_and(|code| code.starts_with('2')) =>
        {
            exit::OK
        }
        Ok(Ok(head)) => {
            eprintln!("unhealthy: {}", head.lines().next().unwrap_or(""));
            exit::FAILURE
        }
        Ok(Err(e)) => {
            eprintln!("unhealthy: {e}");
            exit::UNREACHABLE
        }
        Err(_) => {
            eprintln!("unhealthy: timed out");
            exit::UNREACHABLE
        }
    }
}
