//! The first admin of an empty install. A generated password is written once
//! to an owner-only file in the data directory, never to the logs; the logs
//! say only where it is.

use crate::ServerError;
use crate::auth;
use crate::clock::Clock;
use crate::config::Config;
use replyline_store::{NewEmployee, Store};
use std::io::Write as _;
use std::path::{Path, PathBuf};

/// The file, in the data directory, holding a generated first admin's credentials.
pub const CREDENTIALS_FILE: &str = "initial-admin.txt";

/// The e-mail of the first admin when `admin_email` is unset.
const DEFAULT_EMAIL: &str = "admin@localhost";

/// Creates the first admin when there are no employees. With `admin_password`
/// set, that is the password; otherwise one is generated and written to
/// `<data_dir>/initial-admin.txt` (mode 0600) before the admin exists, so it
/// is never lost and never logged.
pub async fn bootstrap_admin(
    store: &dyn Store,
    config: &Config,
    clock: &Clock,
    data_dir: Option<&Path>,
) -> Result<(), ServerError> {
    if store.employee_count().await? > 0 {
        return Ok(());
    }
    let email = config
        .admin_email
        .clone()
        .unwrap_or_else(|| DEFAULT_EMAIL.into());
    let (password, written_to) = match &config.admin_password {
        Some(p) => (p.expose().to_owned(), None),
        None => {
            let dir = data_dir.ok_or_else(|| {
                ServerError::Setup(
                    "admin_password is required when the database has no data directory \
                     (nowhere to write the generated password)"
                        .into(),
                )
            })?;
            let password = auth::random_hex(12);
            let path = write_credentials(dir, &email, &password)?;
            (password, Some(path))
        }
    };
    let hash = auth::hash_password(&password).map_err(|e| ServerError::Setup(e.to_string()))?;
    let new = NewEmployee {
        email: email.clone(),
        name: "Administrator".into(),
        role: "admin".into(),
        password_hash: Some(hash),
        ..NewEmployee::default()
    };
    store.create_employee(new, clock.now()).await?;
    match written_to {
        Some(path) => {
            tracing::info!(%email, path = %path.display(), "created the first admin; its generated password is in the file");
            println!(
                "created the first admin {email}: the password is in {} (readable only by its owner; \
                 log in, change the password, then delete the file)",
                path.display()
            );
        }
        None => tracing::info!(%email, "created the first admin"),
    }
    Ok(())
}

/// The file's text, Russian first.
fn credentials_text(email: &str, password: &str) -> String {
    format!(
        "Replyline: первый администратор / the first administrator\n\
         e-mail: {email}\n\
         пароль / password: {password}\n\
         \n\
         Войдите, смените пароль и удалите этот файл.\n\
         Log in, change the password, then delete this file.\n"
    )
}

/// Writes the credentials owner-only (0600) to `dir/initial-admin.txt`,
/// replacing a stale file from an earlier empty start; returns its path.
fn write_credentials(dir: &Path, email: &str, password: &str) -> Result<PathBuf, ServerError> {
    let path = dir.join(CREDENTIALS_FILE);
    let partial = dir.join(format!("{CREDENTIALS_FILE}.tmp"));
    let error = |e: std::io::Error| {
        ServerError::Setup(format!(
            "cannot write the first admin's password to {}: {e}",
            path.display()
        ))
    };
    let _ = std::fs::remove_file(&partial);
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options.open(&partial).map_err(error)?;
    file.write_all(credentials_text(email, password).as_bytes())
        .and_then(|()| file.sync_all())
        .map_err(error)?;
    std::fs::rename(&partial, &path).map_err(error)?;
    Ok(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_credentials_file_is_owner_only_and_replaces_a_stale_one() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join(CREDENTIALS_FILE), "stale").unwrap();
        let path = write_credentials(dir.path(), "a@b.c", "secret-123").unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(text.contains("e-mail: a@b.c\n"), "{text}");
        assert!(text.contains("пароль / password: secret-123\n"), "{text}");
        assert!(!text.contains("stale"), "{text}");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
    }
}
