//! PostgreSQL backups the way an operator takes and restores them: `pg_dump --format=custom`
//! (a consistent snapshot while the services run) and `pg_restore`, as child processes.
//!
//! A password never goes into a child's argv (any user on the host can read argv): it is
//! taken out of the URL and handed over in the child's `PGPASSWORD` environment instead.

use std::path::Path;
use std::process::Stdio;

use crate::DrillError;

/// `pg_dump --format=custom` of the database at `url` into `file`.
pub async fn dump(url: &str, file: &Path) -> Result<(), DrillError> {
    let file = path_arg(file)?;
    run(
        "pg_dump",
        url,
        &["--format=custom", "--no-password", "--file", &file],
    )
    .await
}

/// `pg_restore --no-owner` of `file` into the (new, empty) database at `url`.
pub async fn restore(url: &str, file: &Path) -> Result<(), DrillError> {
    let file = path_arg(file)?;
    run("pg_restore", url, &["--no-owner", "--no-password", &file]).await
}

fn path_arg(file: &Path) -> Result<String, DrillError> {
    file.to_str()
        .map(str::to_owned)
        .ok_or_else(|| DrillError::Setup(format!("a backup path that is not UTF-8: {file:?}")))
}

/// Runs `program --dbname <url without password> args…` and waits for it. The child is waited
/// on a blocking thread: the drill's runtimes are built without tokio's `process` driver.
async fn run(program: &'static str, url: &str, args: &[&str]) -> Result<(), DrillError> {
    let (url, password) = split_password(url);
    let mut command = std::process::Command::new(program);
    command
        .arg("--dbname")
        .arg(&url)
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    if let Some(password) = password {
        command.env("PGPASSWORD", password);
    }
    let output = tokio::task::spawn_blocking(move || command.output())
        .await
        .map_err(|e| DrillError::Setup(format!("{program}: its thread failed: {e}")))?;
    let output = match output {
        Ok(output) => output,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Err(DrillError::Setup(format!(
                "{program} is not installed (not on PATH): DB backups and restores on PostgreSQL need the PostgreSQL client tools (e.g. /usr/bin/{program})"
            )));
        }
        Err(e) => return Err(DrillError::Setup(format!("{program} did not start: {e}"))),
    };
    if !output.status.success() {
        return Err(DrillError::Setup(format!(
            "{program} failed ({}): {}",
            output.status,
            String::from_utf8_lossy(&output.stderr).trim()
        )));
    }
    Ok(())
}

/// The URL without its password (in the user info or a `password=` parameter), and the
/// password, percent-decoded, if it had one.
fn split_password(url: &str) -> (String, Option<String>) {
    let Some((scheme, rest)) = url.split_once("://") else {
        return (url.to_owned(), None);
    };
    let (main, query) = match rest.split_once('?') {
        Some((m, q)) => (m, Some(q)),
        None => (rest, None),
    };
    let authority_end = main.find('/').unwrap_or(main.len());
    let (authority, path) = main.split_at(authority_end);
    let mut password = None;
    let authority = match authority.rsplit_once('@') {
        Some((user_info, host)) => match user_info.split_once(':') {
            Some((user, secret)) => {
                password = Some(percent_decode(secret));
                format!("{user}@{host}")
            }
            None => authority.to_owned(),
        },
        None => authority.to_owned(),
    };
    let mut kept = Vec::new();
    for param in query.into_iter().flat_map(|q| q.split('&')) {
        match param.strip_prefix("password=") {
            Some(secret) => password = Some(percent_decode(secret)),
            None => kept.push(param),
        }
    }
    let mut stripped = format!("{scheme}://{authority}{path}");
    if !kept.is_empty() {
        stripped.push('?');
        stripped.push_str(&kept.join("&"));
    }
    (stripped, password)
}

fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = bytes
            .get(i + 1..i + 3)
            .and_then(|h| std::str::from_utf8(h).ok())
            .and_then(|h| u8::from_str_radix(h, 16).ok());
        match (bytes[i], hex) {
            (b'%', Some(b)) => {
                out.push(b);
                i += 3;
            }
            (b, _) => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::split_password;

    #[test]
    fn a_url_without_a_password_is_left_alone() {
        let url = "postgres://root@127.0.0.1:5432/drill_1?sslmode=disable";
        assert_eq!(split_password(url), (url.to_owned(), None));
    }

    #[test]
    fn a_password_in_the_user_info_moves_out_of_the_url() {
        let (url, password) = split_password("postgres://ops:s3cr%40t@db.internal:5432/x");
        assert_eq!(url, "postgres://ops@db.internal:5432/x");
        assert_eq!(password.as_deref(), Some("s3cr@t"));
    }

    #[test]
    fn a_password_parameter_moves_out_of_the_url() {
        let (url, password) =
            split_password("postgresql://ops@h/x?sslmode=require&password=p%26w&connect_timeout=5");
        assert_eq!(
            url,
            "postgresql://ops@h/x?sslmode=require&connect_timeout=5"
        );
        assert_eq!(password.as_deref(), Some("p&w"));
    }
}
