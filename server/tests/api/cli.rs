//! The binary as operators run it.

use std::process::Command;

fn itf_async() -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_itf-async"));
    command
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default());
    command
}

#[test]
fn production_with_no_settings_exits_and_names_every_missing_one() {
    let output = itf_async()
        .env("ITF_PROFILE", "production")
        .output()
        .unwrap();
    assert!(!output.status.success());
    let said = String::from_utf8_lossy(&output.stderr);
    for name in [
        "DATABASE_URL",
        "LIGHTHOUSE_BASE_URL",
        "LIGHTHOUSE_CLIENT_ID",
        "LIGHTHOUSE_AUDIENCE",
        "LIGHTHOUSE_KEY_FILE",
        "ITF_DATA_KEYS_FILE",
        "ITF_VETERAN_OIDC_ISSUER",
    ] {
        assert!(said.contains(name), "{name} not named in:\n{said}");
    }
}

#[test]
fn a_malformed_setting_is_named() {
    let output = itf_async()
        .env("LEPTOS_SITE_ADDR", "not-an-address")
        .output()
        .unwrap();
    assert!(!output.status.success());
    assert!(String::from_utf8_lossy(&output.stderr).contains("LEPTOS_SITE_ADDR"));
}

#[test]
fn migrate_brings_a_new_database_up_to_date() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}/fresh.db", dir.path().display());
    let output = itf_async()
        .env("DATABASE_URL", &url)
        .arg("migrate")
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(dir.path().join("fresh.db").exists());
}

#[test]
fn migrate_against_a_dead_database_fails_clearly() {
    let output = itf_async()
        .env("DATABASE_URL", "postgres://postgres@127.0.0.1:1/nothing")
        .arg("migrate")
        .output()
        .unwrap();
    assert!(!output.status.success());
    assert!(String::from_utf8_lossy(&output.stderr).contains("database"));
}

#[test]
fn the_standalone_simulator_serves_at_its_address() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let data = tempfile::tempdir().unwrap();
    let mut child = itf_async()
        .env("ITF_DATA_DIR", data.path())
        .args([
            "simulator",
            "--addr",
            &format!("127.0.0.1:{port}"),
            "--quota-per-minute",
            "7",
        ])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let url = format!("http://127.0.0.1:{port}/_sim/lighthouse/mode");
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let mode = runtime.block_on(async {
        for _ in 0..100 {
            if let Ok(response) = reqwest::get(&url).await {
                return response.json::<serde_json::Value>().await.ok();
            }
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
        None
    });
    child.kill().unwrap();
    child.wait().unwrap();
    let mode = mode.expect("the simulator answered");
    assert_eq!(mode["mode"], "up");
    assert_eq!(mode["quota_per_minute"], 7);
    assert!(data.path().join("lighthouse-simulator-key.pem").exists());
}

#[test]
fn the_flag_is_set_and_shown_from_the_command_line_and_refused_for_pension() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}/flag.db", dir.path().display());
    let run = |args: &[&str]| {
        itf_async()
            .env("DATABASE_URL", &url)
            .env("ITF_DATA_DIR", dir.path())
            .env("USER", "ana")
            .args(args)
            .output()
            .unwrap()
    };
    assert!(run(&["migrate"]).status.success());

    let set = run(&[
        "flag",
        "set",
        "compensation",
        "percent",
        "25",
        "--reason",
        "a quarter first",
    ]);
    let said = String::from_utf8_lossy(&set.stdout);
    assert!(
        set.status.success(),
        "{}",
        String::from_utf8_lossy(&set.stderr)
    );
    assert!(
        said.starts_with("flag: compensation percent 25 (set ")
            && said.contains("by command line (ana))"),
        "{said}"
    );

    let refused = run(&["flag", "set", "pension", "on", "--reason", "why not"]);
    assert!(!refused.status.success());
    assert_eq!(
        String::from_utf8_lossy(&refused.stderr),
        "itf-async flag: pension ITFs stay synchronous: only compensation can be turned on\n"
    );
    let unreadable = run(&["flag", "set", "compensation", "half", "--reason", "x"]);
    assert!(String::from_utf8_lossy(&unreadable.stderr).contains("use off, on or percent N"));

    let shown = run(&["flag", "show"]);
    let shown = String::from_utf8_lossy(&shown.stdout);
    let lines: Vec<&str> = shown.lines().collect();
    assert_eq!(lines.len(), 3, "{shown}");
    assert!(
        lines[0].starts_with("flag: compensation percent 25 (set "),
        "{shown}"
    );
    assert_eq!(lines[1], "flag: pension off (as installed)");
    assert_eq!(lines[2], "flag: survivor off (as installed)");
}
