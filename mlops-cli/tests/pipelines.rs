//! The pipeline templates in `examples/pipelines/` and the README snippet
//! `docs/pipeline.sh`: parsed, structure-checked, every `mlops` invocation accepted
//! by the CLI's parser, and the snippet run verbatim.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;
use clap::Parser;
use serde_yaml_ng::Value;

const ROOT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/..");

fn read(rel: &str) -> String {
    std::fs::read_to_string(format!("{ROOT}/{rel}")).unwrap_or_else(|e| panic!("{rel}: {e}"))
}

/// Replaces `${{ expr }}`, `${VAR}`, `${a.b}` and `$VAR` by `1` (a value every
/// argument accepts: versions and ids are numbers).
fn substitute(s: &str) -> String {
    let mut out = String::new();
    let mut it = s.chars().peekable();
    while let Some(c) = it.next() {
        if c != '$' {
            out.push(c);
            continue;
        }
        match it.peek() {
            Some('{') => {
                let mut depth = 0;
                for d in it.by_ref() {
                    match d {
                        '{' => depth += 1,
                        '}' => {
                            depth -= 1;
                            if depth == 0 {
                                break;
                            }
                        }
                        _ => {}
                    }
                }
                out.push('1');
            }
            Some(n) if n.is_ascii_alphabetic() || *n == '_' => {
                while it
                    .peek()
                    .is_some_and(|n| n.is_ascii_alphanumeric() || *n == '_')
                {
                    it.next();
                }
                out.push('1');
            }
            _ => out.push('$'),
        }
    }
    out
}

/// Splits shell words (quotes respected) up to an unquoted `|`, `)`, `;`, `&`, `>` or `#`.
fn words(s: &str) -> Vec<String> {
    let (mut out, mut cur, mut quote, mut any) = (vec![], String::new(), None::<char>, false);
    for c in s.chars() {
        match quote {
            Some(q) if c == q => quote = None,
            Some(_) => cur.push(c),
            None => match c {
                '\'' | '"' => {
                    quote = Some(c);
                    any = true;
                }
                '|' | ')' | ';' | '&' | '>' | '#' => break,
                c if c.is_whitespace() => {
                    if any {
                        out.push(std::mem::take(&mut cur));
                        any = false;
                    }
                }
                c => {
                    cur.push(c);
                    any = true;
                }
            },
        }
    }
    assert!(quote.is_none(), "unterminated quote in {s:?}");
    if any {
        out.push(cur);
    }
    out
}

/// Every `mlops ...` command line in `text` (shell continuations joined), as argv.
fn invocations(text: &str) -> Vec<Vec<String>> {
    let joined = text.replace("\\\n", " ");
    let mut found = vec![];
    for line in joined.lines() {
        let mut from = 0;
        while let Some(i) = line[from..].find("mlops ") {
            let at = from + i;
            from = at + 6;
            let prev = line[..at].chars().last();
            if !matches!(prev, None | Some(' ' | '(' | '"' | '\'' | '`' | '\t')) {
                continue;
            }
            let mut rest = &line[at..];
            // Inside a quoted string (`sh "mlops ..."`, `` `mlops ...` ``): up to its end.
            if let Some(q @ ('"' | '\'' | '`')) = prev
                && let Some(end) = rest.rfind(q)
            {
                rest = &rest[..end];
            }
            found.push(words(&substitute(rest)));
        }
    }
    found
}

fn assert_parses(name: &str, text: &str, at_least: usize) -> Vec<Vec<String>> {
    let calls = invocations(text);
    assert!(
        calls.len() >= at_least,
        "{name}: {} mlops invocations, expected at least {at_least}: {calls:?}",
        calls.len()
    );
    for argv in &calls {
        if let Err(e) = mlops_cli::Cli::try_parse_from(argv) {
            panic!("{name}: the CLI refuses {argv:?}:\n{e}");
        }
    }
    calls
}

fn subcommands(calls: &[Vec<String>]) -> Vec<String> {
    calls
        .iter()
        .filter_map(|a| {
            let i = a.iter().position(|w| w == "models")?;
            a.get(i + 1).cloned()
        })
        .collect()
}

#[test]
fn helpers_work() {
    assert_eq!(
        words("mlops --as 'user:a b' models list | jq . "),
        ["mlops", "--as", "user:a b", "models", "list"]
    );
    assert_eq!(
        substitute("--version ${{ steps.x.outputs.v }} --r \"$REQ\" ${env.A}"),
        "--version 1 --r \"1\" 1"
    );
    let calls = invocations(
        "X=$(mlops -q models register m \\\n  --metric a=1)\nsh \"mlops models list\"\n# not amlops call",
    );
    assert_eq!(
        calls,
        [
            vec!["mlops", "-q", "models", "register", "m", "--metric", "a=1"],
            vec!["mlops", "models", "list"]
        ]
    );
    // the parser refuses what the CLI refuses
    assert!(
        mlops_cli::Cli::try_parse_from(["mlops", "models", "promote", "m", "--version", "x"])
            .is_err()
    );
}

#[test]
fn github_actions_workflow() {
    let text = read("examples/pipelines/github-actions-train.yml");
    let y: Value = serde_yaml_ng::from_str(&text).unwrap();
    let steps = y["jobs"]["train"]["steps"].as_sequence().unwrap();
    let names: Vec<&str> = steps.iter().filter_map(|s| s["name"].as_str()).collect();
    assert_eq!(
        names,
        [
            "Install mlops",
            "Train",
            "Drift check",
            "Keep the drift report",
            "Register",
            "Request promotion to staging",
            "Gates",
            "Summary"
        ]
    );
    let runs: String = steps
        .iter()
        .filter_map(|s| s["run"].as_str())
        .collect::<Vec<_>>()
        .join("\n");
    let calls = assert_parses("github-actions-train.yml", &runs, 5);
    assert_eq!(subcommands(&calls), ["register", "request", "gate", "show"]);
    // the drift check writes the HTML report and fails the job on drift
    let drift = calls
        .iter()
        .find(|a| a.iter().any(|w| w == "drift"))
        .expect("a drift check");
    for w in [
        "--format",
        "html",
        "--out",
        "out/drift.html",
        "--fail-on-drift",
    ] {
        assert!(drift.iter().any(|x| x == w), "{w} in {drift:?}");
    }
    assert_eq!(y["env"]["MLOPS_PRINCIPAL"], "service:github-actions");
    assert!(
        mlops_cli::Cli::try_parse_from([
            "mlops",
            "--as",
            "service:github-actions",
            "models",
            "list"
        ])
        .is_ok()
    );
}

/// Checks braces balance outside strings and comments; returns the stage names in order.
fn groovy_stages(text: &str) -> Vec<String> {
    let b = text.as_bytes();
    let (mut i, mut depth, mut stages) = (0, 0i32, vec![]);
    while i < b.len() {
        if text[i..].starts_with("//") {
            i += text[i..].find('\n').unwrap_or(text.len() - i);
            continue;
        }
        if text[i..].starts_with("\"\"\"") {
            i += 3 + text[i + 3..].find("\"\"\"").expect("unterminated \"\"\"") + 3;
            continue;
        }
        match b[i] {
            q @ (b'"' | b'\'') => {
                let end = text[i + 1..].find(q as char).expect("unterminated string");
                i += end + 2;
                continue;
            }
            b'{' => depth += 1,
            b'}' => {
                depth -= 1;
                assert!(depth >= 0, "unbalanced '}}' at byte {i}");
            }
            _ => {}
        }
        if text[i..].starts_with("stage(") {
            let rest = &text[i + 6..];
            let q = rest.chars().next().unwrap();
            let end = rest[1..].find(q).unwrap();
            stages.push(rest[1..=end].to_string());
        }
        i += 1;
    }
    assert_eq!(depth, 0, "unbalanced braces");
    stages
}

#[test]
fn jenkinsfile() {
    let text = read("examples/pipelines/Jenkinsfile");
    let first = text
        .lines()
        .map(str::trim)
        .find(|l| !l.is_empty() && !l.starts_with("//"));
    assert_eq!(first, Some("pipeline {"));
    assert_eq!(
        groovy_stages(&text),
        ["Approve", "Promote", "Export manifest", "Commit"]
    );
    let calls = assert_parses("Jenkinsfile", &text, 4);
    assert_eq!(
        subcommands(&calls),
        ["approve", "promote", "export-manifest", "show"]
    );
    assert!(text.contains("git commit") && text.contains("git push"));
    // a broken file is caught
    let r = std::panic::catch_unwind(|| groovy_stages("pipeline { stages { stage('A') { }"));
    assert!(r.is_err());
}

#[test]
fn argocd_application() {
    let text = read("examples/pipelines/argocd-application.yaml");
    let y: Value = serde_yaml_ng::from_str(&text).unwrap();
    assert_eq!(y["apiVersion"], "argoproj.io/v1alpha1");
    assert_eq!(y["kind"], "Application");
    assert_eq!(y["spec"]["source"]["path"], "deploy/production");
    assert_eq!(y["spec"]["destination"]["namespace"], "production");
    assert_eq!(y["spec"]["syncPolicy"]["automated"]["prune"], true);
    // the command that writes what it syncs, named in its header
    let calls = assert_parses("argocd-application.yaml", &text, 1);
    assert!(calls[0].contains(&"deploy/production/models.yaml".to_string()));
}

#[test]
fn readme_pipeline_runs_verbatim() {
    let script = format!("{ROOT}/docs/pipeline.sh");
    let text = read("docs/pipeline.sh");
    let calls = assert_parses("docs/pipeline.sh", &text, 7);
    assert_eq!(
        subcommands(&calls),
        [
            "register",
            "request",
            "gate",
            "approve",
            "approve",
            "promote",
            "export-manifest",
            "list"
        ]
    );

    let d = tempfile::tempdir().unwrap();
    let bin = assert_cmd::cargo::cargo_bin("mlops");
    // The test puts the built binary first on the inherited PATH.
    #[allow(clippy::disallowed_methods)]
    let path = format!(
        "{}:{}",
        bin.parent().unwrap().display(),
        std::env::var_os("PATH")
            .map(|p| p.to_string_lossy().into_owned())
            .unwrap_or_default()
    );
    let mut cmd = std::process::Command::new("bash");
    cmd.arg(&script).current_dir(d.path()).env("PATH", path);
    for var in common::CLEARED {
        cmd.env_remove(var);
    }
    let out = cmd.output().unwrap();
    let (so, se) = (
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr),
    );
    assert!(
        out.status.success(),
        "pipeline.sh failed\nstdout: {so}\nstderr: {se}"
    );
    let list: serde_json::Value = serde_json::from_str(so.lines().last().unwrap()).unwrap();
    assert_eq!(list[0]["name"], "fraud-detector");
    assert_eq!(list[0]["aliases"]["staging"], 1);
    let manifest = std::fs::read_to_string(d.path().join("deploy/staging/models.yaml")).unwrap();
    let y: Value = serde_yaml_ng::from_str(&manifest).unwrap();
    assert_eq!(y["kind"], "InferenceService");
    assert_eq!(y["metadata"]["name"], "fraud-detector");
    assert_eq!(y["metadata"]["namespace"], "staging");
    assert_eq!(
        y["spec"]["predictor"]["model"]["modelFormat"]["name"],
        "sklearn"
    );
}

/// The pipeline sections of `docs/cli.md` and of the top README show exactly the
/// commands `docs/pipeline.sh` runs (the test above runs that script verbatim).
#[test]
fn readme_block_matches_script() {
    let script = read("docs/pipeline.sh");
    let commands: Vec<&str> = script
        .lines()
        .filter(|l| !l.trim().is_empty() && !l.starts_with('#') && !l.starts_with("set "))
        .collect();
    for doc in ["docs/cli.md", "README.md"] {
        let md = read(doc);
        let marker = md
            .find("register → gates → approve → promote → export")
            .unwrap_or_else(|| panic!("{doc} has no pipeline section"));
        let start = marker + md[marker..].find("```sh\n").unwrap() + 6;
        let end = start + md[start..].find("```").unwrap();
        let block: Vec<&str> = md[start..end].lines().collect();
        assert_eq!(block, commands, "{doc}");
    }
}
