//! Data-driven engine tests: every `tests/scenarios/NAME.yaml` runs through the
//! simulator and must print exactly `NAME.expected`, or fail with an error
//! containing `NAME.expected_error`.

use std::fs;
use std::path::{Path, PathBuf};

fn scenario_files() -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/scenarios");
    let mut files: Vec<_> = fs::read_dir(&dir)
        .expect("scenario directory")
        .map(|entry| entry.expect("directory entry").path())
        .filter(|path| path.extension().is_some_and(|ext| ext == "yaml"))
        .collect();
    files.sort();
    files
}

fn check(path: &Path) -> Result<(), String> {
    let source = fs::read_to_string(path).map_err(|e| e.to_string())?;
    let result = replyline_sim::run_source(&source, false);
    let expected = path.with_extension("expected");
    let expected_error = path.with_extension("expected_error");
    match (result, expected.exists(), expected_error.exists()) {
        (Ok(output), true, false) => {
            let want = fs::read_to_string(&expected).map_err(|e| e.to_string())?;
            if output == want {
                Ok(())
            } else {
                Err(format!(
                    "output differs\n--- expected\n{want}--- actual\n{output}"
                ))
            }
        }
        (Err(err), false, true) => {
            let want = fs::read_to_string(&expected_error).map_err(|e| e.to_string())?;
            let want = want.trim();
            if err.to_string().contains(want) {
                Ok(())
            } else {
                Err(format!("error {err:?} does not contain {want:?}"))
            }
        }
        (Ok(output), false, true) => Err(format!("expected an error, got output:\n{output}")),
        (Err(err), true, false) => Err(format!("unexpected error: {err}")),
        _ => Err("needs exactly one of .expected or .expected_error".into()),
    }
}

#[test]
fn every_scenario_matches_its_expected_output() {
    let files = scenario_files();
    assert!(files.len() >= 40, "only {} scenarios found", files.len());
    let failures: Vec<String> = files
        .iter()
        .filter_map(|path| {
            check(path)
                .err()
                .map(|why| format!("{}: {why}", path.file_name().unwrap().to_string_lossy()))
        })
        .collect();
    assert!(
        failures.is_empty(),
        "{} of {} scenarios failed:\n\n{}",
        failures.len(),
        files.len(),
        failures.join("\n\n")
    );
}
