//! Where a secret comes from: `{ env = "VAR" }` or `{ file = "/path" }`. A secret written
//! inline in the config file is refused: config files are copied, committed and pasted into
//! tickets, and a secret in one outlives every rotation. The refusal never quotes the value.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use serde::de::{self, Deserializer, MapAccess, Visitor};

use crate::secrets::read_secret_file;

/// A secret's source (the value is read by [`Secret::resolve`], never kept in the config).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Secret {
    Env(String),
    File(PathBuf),
}

impl std::fmt::Display for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Secret::Env(var) => write!(f, "from env {var}"),
            Secret::File(path) => write!(f, "from file {}", path.display()),
        }
    }
}

impl Secret {
    /// The secret's value; `what` names it in errors (which never contain the value).
    pub fn resolve(&self, what: &str) -> Result<String> {
        match self {
            Secret::Env(var) => match std::env::var(var) {
                Ok(value) if !value.trim().is_empty() => Ok(value.trim().to_owned()),
                Ok(_) => bail!("the {what}: the environment variable {var} is empty"),
                Err(_) => bail!("the {what}: the environment variable {var} is not set"),
            },
            Secret::File(path) => {
                private_file(path, what)?;
                read_secret_file(path, what)
            }
        }
    }
}

/// A file holding a secret or key must be readable by its owner only (mode 0600 or 0400).
pub fn private_file(path: &Path, what: &str) -> Result<()> {
    let meta =
        std::fs::metadata(path).with_context(|| format!("the {what} file {}", path.display()))?;
    let mode = meta.permissions().mode() & 0o777;
    if mode & 0o077 != 0 {
        bail!(
            "the {what} file {} has mode {mode:04o}: other users can read it; `chmod 600` it",
            path.display()
        );
    }
    Ok(())
}

const EXPECTED: &str = "{ env = \"VAR\" } or { file = \"/path\" }";

impl<'de> serde::Deserialize<'de> for Secret {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Secret, D::Error> {
        deserializer.deserialize_any(SecretVisitor)
    }
}

struct SecretVisitor;

impl<'de> Visitor<'de> for SecretVisitor {
    type Value = Secret;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(EXPECTED)
    }

    // Inline values are refused without being quoted (serde's own message would quote them).
    fn visit_str<E: de::Error>(self, _: &str) -> Result<Secret, E> {
        Err(E::custom(format!(
            "a secret is never written in the config file: give {EXPECTED}"
        )))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Secret, A::Error> {
        let mut found = None;
        while let Some(key) = map.next_key::<String>()? {
            let secret = match key.as_str() {
                "env" => Secret::Env(map.next_value()?),
                "file" => Secret::File(map.next_value()?),
                other => {
                    return Err(de::Error::unknown_field(other, &["env", "file"]));
                }
            };
            if found.replace(secret).is_some() {
                return Err(de::Error::custom(format!("give one of {EXPECTED}")));
            }
        }
        found.ok_or_else(|| de::Error::custom(format!("expected {EXPECTED}")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(serde::Deserialize, Debug)]
    struct Holder {
        #[allow(dead_code)]
        s: Secret,
    }

    fn parse(text: &str) -> std::result::Result<Holder, String> {
        use figment::providers::{Format, Toml};
        figment::Figment::from(Toml::string(text))
            .extract()
            .map_err(|e| e.to_string())
    }

    #[test]
    fn secrets_come_from_the_environment_or_files_never_inline() {
        assert!(matches!(parse("s = { env = \"X\" }").unwrap().s, Secret::Env(v) if v == "X"));
        assert!(matches!(
            parse("s = { file = \"/a\" }").unwrap().s,
            Secret::File(_)
        ));
        let inline = parse("s = \"hunter2\"").unwrap_err();
        assert!(
            inline.contains("never written in the config file"),
            "{inline}"
        );
        assert!(!inline.contains("hunter2"), "{inline}");
        assert!(parse("s = { env = \"X\", file = \"/a\" }").is_err());
        assert!(
            parse("s = { value = \"X\" }")
                .unwrap_err()
                .contains("value")
        );
    }

    #[test]
    fn secret_files_must_be_private() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s");
        std::fs::write(&path, "pw\n").unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
        let e = Secret::File(path.clone())
            .resolve("DB password")
            .unwrap_err();
        assert!(e.to_string().contains("mode 0644"), "{e}");
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
        assert_eq!(Secret::File(path).resolve("DB password").unwrap(), "pw");
        let e = Secret::Env("CANTON_EXCHANGE_TEST_UNSET_VAR".into())
            .resolve("token")
            .unwrap_err();
        assert!(e.to_string().contains("not set"), "{e}");
    }
}
