use super::*;
use crate::ErrorKind;

fn err(text: &str) -> String {
    let e = Profile::from_toml_str(text).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidArgument, "{e}");
    e.to_string()
}

const EXAMPLE: &str = include_str!(concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../examples/mlops.toml"
));

#[test]
fn example_profile_loads_with_paths_next_to_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("mlops.toml");
    std::fs::write(&path, EXAMPLE).unwrap();
    let p = Profile::load(&path).unwrap();
    let base = std::fs::canonicalize(dir.path()).unwrap();
    let names: Vec<_> = p
        .environments()
        .iter()
        .map(|e| e.name().to_string())
        .collect();
    assert_eq!(names, DEFAULT_ENVIRONMENTS);
    let order: Vec<_> = p.promotion_order().iter().map(|e| e.to_string()).collect();
    assert_eq!(order, ["development", "ci", "qa", "staging", "production"]);
    assert_eq!(p.path(), Some(base.join("mlops.toml").as_path()));
    assert_eq!(
        p.default_environment().map(EnvName::as_str),
        Some("development")
    );

    let dev = p.select_with(None, None).unwrap();
    assert_eq!(dev.name().as_str(), "development");
    for (domain, sub) in [
        (Domain::Tracking, "tracking"),
        (Domain::Registry, "registry"),
        (Domain::FeatureOffline, "features/offline"),
        (Domain::FeatureOnline, "features/online"),
        (Domain::Audit, "audit"),
    ] {
        let want = format!("file://{}/.mlops/development/{sub}", base.display());
        assert_eq!(dev.url(domain), Some(want.as_str()));
        assert_eq!(
            dev.backend(domain).unwrap().kind(),
            BackendKind::Storage(Scheme::File)
        );
    }
    assert!(dev.autoscaling().scales_to_zero());

    let staging = p.environment("staging").unwrap();
    assert_eq!(
        staging.url(Domain::FeatureOnline).unwrap(),
        format!("file://{}/.mlops/staging/features/online", base.display())
    );
    assert_eq!(
        *staging.autoscaling(),
        Autoscaling {
            min_replicas: 0,
            max_replicas: 3,
            target_concurrency: Some(16)
        }
    );
    let prod = p.environment("production").unwrap();
    assert!(prod.store().encrypted);
    assert_eq!(prod.autoscaling().min_replicas, 2);
    assert_eq!(prod.credentials(), &CredentialSource::Environment);
    assert_eq!(
        p.next_in_promotion("staging")
            .unwrap()
            .unwrap()
            .name()
            .as_str(),
        "production"
    );
    assert!(p.next_in_promotion("production").unwrap().is_none());
    assert_eq!(
        p.next_in_promotion("monitoring").unwrap_err().kind(),
        ErrorKind::NotFound
    );

    // The URLs open as storage.
    let s = crate::Storage::from_url(dev.url(Domain::Registry).unwrap()).unwrap();
    assert!(s.url().ends_with("/.mlops/development/registry"));
}

#[test]
fn selection_order() {
    let p = Profile::from_toml_str(
        "[environments.b]\nroot = \"memory://\"\n[environments.a]\nroot = \"memory://\"\n",
    )
    .unwrap();
    // No default_environment: the first in the file (not alphabetical).
    assert_eq!(p.select_with(None, None).unwrap().name().as_str(), "b");
    assert_eq!(p.select_with(None, Some("a")).unwrap().name().as_str(), "a");
    assert_eq!(
        p.select_with(Some("b"), Some("a")).unwrap().name().as_str(),
        "b"
    );
    assert_eq!(p.select_with(None, Some("")).unwrap().name().as_str(), "b");
    let e = p.select_with(None, Some("prod")).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::NotFound);
    assert_eq!(
        e.to_string(),
        "environment chosen by MLOPS_PROFILE not found: prod (the profile has: b, a)"
    );
    let order: Vec<_> = p.promotion_order().iter().map(|e| e.to_string()).collect();
    assert_eq!(order, ["b", "a"]);
}

#[test]
fn errors_name_key_and_line() {
    let text = "\
version = 1
[environments.dev]
root = \"memory://\"

[environments.staging]
tracking = \"http://mlflow:5000\"
registry = \"ftp://registry\"
";
    assert_eq!(
        err(text),
        "invalid key `environments.staging.registry` (mlops.toml line 7) \"ftp://registry\": \
         unknown scheme; expected file://, memory://, s3://, gs://, az://, http(s)://, \
         sagemaker://, vertex://, redis:// or a local path"
    );

    // Unknown keys are refused, with the key's line.
    let e = err("[environments.dev]\nroot = \"memory://\"\nregsitry = \"memory://\"\n");
    assert!(
        e.starts_with("invalid key `environments.dev.regsitry` (mlops.toml line 3) \"regsitry\": unknown field `regsitry`"),
        "{e}"
    );
    let e =
        err("[environments.dev]\nroot = \"memory://\"\n[environments.dev.autoscaling]\nmin = 1\n");
    assert!(
        e.starts_with("invalid key `environments.dev.autoscaling.min` (mlops.toml line 4)"),
        "{e}"
    );
    let e = err("colour = \"blue\"\n[environments.dev]\nroot = \"memory://\"\n");
    assert!(
        e.starts_with("invalid key `colour` (mlops.toml line 1)"),
        "{e}"
    );

    // Wrong types.
    let e = err("[environments.dev]\nroot = \"memory://\"\nautoscaling = { min_replicas = -1 }\n");
    assert!(
        e.contains("environments.dev.autoscaling.min_replicas` (mlops.toml line 3)"),
        "{e}"
    );

    // A kind of URL the domain cannot use.
    assert_eq!(
        err("[environments.dev]\n\nfeature_offline = \"http://x:1\"\n"),
        "invalid key `environments.dev.feature_offline` (mlops.toml line 3) \"http://x:1\": \
         expected a storage URL (file://, memory://, s3://, gs://, az://)"
    );
    let e = err("[environments.dev]\nfeature_online = \"s3://bucket/online\"\n");
    assert!(
        e.starts_with("invalid key `environments.dev.feature_online` (mlops.toml line 2)"),
        "{e}"
    );
    let e = err("[environments.dev]\nroot = \"http://mlflow:5000\"\n");
    assert!(
        e.starts_with("invalid key `environments.dev.root` (mlops.toml line 2)"),
        "{e}"
    );
    let e = err("[environments.dev]\naudit = \"file://./a/../../etc\"\n");
    assert!(
        e.contains("(mlops.toml line 2)") && e.contains("'..'"),
        "{e}"
    );
}

#[test]
fn environment_names_and_references_are_checked() {
    let e = err(
        "[environments.dev]\nroot = \"memory://\"\n\n[environments.Prod]\nroot = \"memory://\"\n",
    );
    assert!(
        e.starts_with(
            "invalid key `environments.Prod` (mlops.toml line 4) \"Prod\": 1-32 lower-case"
        ),
        "{e}"
    );
    let text = "promotion_order = [\n  \"dev\",\n  \"prod\",\n]\n[environments.dev]\nroot = \"memory://\"\n";
    assert_eq!(
        err(text),
        "invalid key `promotion_order.1` (mlops.toml line 3) \"prod\": unknown environment; \
         the profile defines: dev"
    );
    let e = err("promotion_order = [\"dev\", \"dev\"]\n[environments.dev]\nroot = \"memory://\"\n");
    assert!(e.contains("listed twice"), "{e}");
    let e = err("default_environment = \"qa\"\n[environments.dev]\nroot = \"memory://\"\n");
    assert!(
        e.starts_with(
            "invalid key `default_environment` (mlops.toml line 1) \"qa\": unknown environment"
        ),
        "{e}"
    );
    let e = err("version = 2\n[environments.dev]\nroot = \"memory://\"\n");
    assert!(
        e.starts_with("invalid key `version` (mlops.toml line 1) \"2\""),
        "{e}"
    );
    let e = err("version = 1\n");
    assert!(e.contains("no environments defined"), "{e}");
    // Syntax errors carry the line too.
    let e = err("[environments.dev]\nroot = \"memory://\n");
    assert!(e.starts_with("invalid TOML (mlops.toml line 2)"), "{e}");
}

#[test]
fn credential_sources() {
    let text = r#"
[environments.a]
root = "memory://"
credentials = { source = "aws_profile", profile = "ml", region = "eu-west-1" }
[environments.b]
root = "memory://"
[environments.b.credentials]
source = "aws_role"
role_arn = "arn:aws:iam::123456789012:role/deployer"
external_id = "ext-1"
region = "us-east-1"
[environments.c]
root = "memory://"
credentials = { source = "gcp_service_account", key_file = "keys/sa.json" }
[environments.d]
root = "memory://"
credentials = { source = "token_env", var = "MLFLOW_TRACKING_TOKEN" }
[environments.e]
root = "memory://"
credentials = { source = "basic_env", user_var = "MLFLOW_TRACKING_USERNAME", password_var = "MLFLOW_TRACKING_PASSWORD" }
"#;
    let p = Profile::from_toml_str_in(text, Path::new("/etc/mlops")).unwrap();
    assert_eq!(
        p.environment("a").unwrap().credentials(),
        &CredentialSource::AwsProfile {
            profile: "ml".into(),
            region: Some("eu-west-1".into())
        }
    );
    assert_eq!(
        p.environment("b").unwrap().credentials(),
        &CredentialSource::AwsRole {
            role_arn: "arn:aws:iam::123456789012:role/deployer".into(),
            external_id: Some("ext-1".into()),
            session_name: None,
            region: Some("us-east-1".into()),
            source_profile: None,
        }
    );
    assert_eq!(
        p.environment("c").unwrap().credentials(),
        &CredentialSource::GcpServiceAccount {
            key_file: "/etc/mlops/keys/sa.json".into()
        }
    );
    assert_eq!(
        p.environment("d").unwrap().credentials(),
        &CredentialSource::TokenEnv {
            var: "MLFLOW_TRACKING_TOKEN".into()
        }
    );

    let e = err(
        "[environments.a]\nroot = \"memory://\"\n[environments.a.credentials]\nsource = \"aws_role\"\nrole_arn = \"arn:aws:iam::12:user/x\"\n",
    );
    assert!(
        e.starts_with("invalid key `environments.a.credentials.role_arn` (mlops.toml line 5)"),
        "{e}"
    );
    let e = err(
        "[environments.a]\nroot = \"memory://\"\ncredentials = { source = \"token_env\", var = \"not a var\" }\n",
    );
    assert!(
        e.contains("environments.a.credentials.var` (mlops.toml line 3)"),
        "{e}"
    );
    let e =
        err("[environments.a]\nroot = \"memory://\"\ncredentials = { source = \"kerberos\" }\n");
    assert!(
        e.contains("(mlops.toml line 3)") && e.contains("kerberos"),
        "{e}"
    );
    let e = err(
        "[environments.a]\nroot = \"memory://\"\ncredentials = { source = \"aws_profile\", profile = \"p\", colour = 1 }\n",
    );
    assert!(
        e.contains("(mlops.toml line 3)") && e.contains("colour"),
        "{e}"
    );
}

#[test]
fn secrets_in_the_file_are_refused_without_echoing_them() {
    let text = "[environments.a]\nroot = \"memory://\"\n[environments.a.credentials]\nsource = \"token_env\"\nvar = \"T\"\ntoken = \"hunter2-secret\"\n";
    let e = err(text);
    assert!(
        e.starts_with("invalid key `environments.a.credentials.token` (mlops.toml line 6) \"token\": secrets never go in mlops.toml"),
        "{e}"
    );
    assert!(!e.contains("hunter2"));
    // An environment may still be called `secret`.
    let p = Profile::from_toml_str("[environments.secret]\nroot = \"memory://\"\n").unwrap();
    assert_eq!(p.environments()[0].name().as_str(), "secret");
    let e = err("[environments.a]\nroot = \"memory://\"\npassword = \"hunter2\"\n");
    assert!(!e.contains("hunter2") && e.contains("line 3"), "{e}");
}

#[test]
fn store_and_autoscaling_rules() {
    let e = err("[environments.a]\nroot = \"memory://\"\nstore = { kms_key = \"k\" }\n");
    assert!(
        e.contains("environments.a.store.kms_key` (mlops.toml line 3)")
            && e.contains("encrypted = true"),
        "{e}"
    );
    let e = err(
        "[environments.a]\nroot = \"memory://\"\n[environments.a.autoscaling]\nmin_replicas = 5\nmax_replicas = 2\n",
    );
    assert_eq!(
        e,
        "invalid key `environments.a.autoscaling.max_replicas` (mlops.toml line 5) \"2\": \
         must be at least min_replicas (5)"
    );
    let e = err(
        "[environments.a]\nroot = \"memory://\"\nautoscaling = { max_replicas = 0, min_replicas = 0 }\n",
    );
    assert!(e.contains("must be at least 1"), "{e}");
    let p = Profile::from_toml_str(
        "[environments.a]\nroot = \"memory://\"\nautoscaling = { min_replicas = 3 }\n",
    )
    .unwrap();
    // max defaults to min.
    assert_eq!(p.environment("a").unwrap().autoscaling().max_replicas, 3);
    let p = Profile::from_toml_str("[environments.a]\nroot = \"memory://\"\n").unwrap();
    assert_eq!(
        *p.environment("a").unwrap().autoscaling(),
        Autoscaling::default()
    );
    assert!(!p.environment("a").unwrap().store().encrypted);
}

#[test]
fn service_backends_and_require() {
    let p = Profile::from_toml_str(
        "[environments.p]\ntracking = \"https://mlflow.example.com\"\nregistry = \"vertex://my-project/europe-west4\"\nfeature_online = \"redis://127.0.0.1:6379/0\"\n",
    )
    .unwrap();
    let env = p.environment("p").unwrap();
    assert_eq!(
        env.backend(Domain::Tracking).unwrap().kind(),
        BackendKind::Mlflow
    );
    assert_eq!(
        env.backend(Domain::Registry).unwrap().kind(),
        BackendKind::Vertex
    );
    assert_eq!(
        env.backend(Domain::FeatureOnline).unwrap().kind(),
        BackendKind::Redis
    );
    assert!(env.url(Domain::Audit).is_none());
    let e = env.require(Domain::Audit).unwrap_err();
    assert_eq!(
        e.to_string(),
        "invalid environment \"p\": no audit backend: set environments.p.audit or environments.p.root"
    );
    let e = err("[environments.p]\nregistry = \"sagemaker://\"\n");
    assert!(e.contains("(mlops.toml line 2)"), "{e}");
    // Relative paths stay relative without a base directory.
    let p = Profile::from_toml_str("[environments.d]\nroot = \"./.mlops/d\"\n").unwrap();
    assert_eq!(
        p.environment("d").unwrap().url(Domain::Audit),
        Some("./.mlops/d/audit")
    );
}

#[test]
fn local_profile_has_the_default_environments() {
    let p = Profile::local(Path::new("/srv/app")).unwrap();
    let names: Vec<_> = p
        .environments()
        .iter()
        .map(|e| e.name().to_string())
        .collect();
    assert_eq!(names, DEFAULT_ENVIRONMENTS);
    assert_eq!(
        p.environment("qa").unwrap().url(Domain::Registry),
        Some("file:///srv/app/.mlops/qa/registry")
    );
    assert_eq!(p.promotion_order().len(), 6);
}

#[test]
fn discover_walks_up_to_the_file() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join(FILE_NAME), EXAMPLE).unwrap();
    let nested = dir.path().join("a/b");
    std::fs::create_dir_all(&nested).unwrap();
    // Only when MLOPS_CONFIG is unset (the test command does not set it).
    if env_var(CONFIG_VAR).is_none() {
        let p = Profile::discover(&nested).unwrap().unwrap();
        assert_eq!(p.environments().len(), 6);
        let empty = tempfile::tempdir().unwrap();
        assert!(
            Profile::discover(empty.path()).unwrap().is_none() || env_var(CONFIG_VAR).is_some()
        );
    }
    let e = Profile::load(dir.path().join("missing.toml")).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::NotFound);
}

#[cfg(feature = "http")]
#[test]
fn http_credentials_read_named_variables() {
    use crate::http::Credentials;
    let lookup = |v: &str| match v {
        "TOK" => Some("s3cr3t-token".to_string()),
        "U" => Some("bob".to_string()),
        "P" => Some("pw".to_string()),
        _ => None,
    };
    let c = CredentialSource::TokenEnv { var: "TOK".into() }
        .http_credentials_from(lookup)
        .unwrap();
    let Credentials::Bearer(t) = &c else {
        panic!("{c:?}")
    };
    assert_eq!(t.expose(), "s3cr3t-token");
    assert!(!format!("{c:?}").contains("s3cr3t"));
    let c = CredentialSource::BasicEnv {
        user_var: "U".into(),
        password_var: "P".into(),
    }
    .http_credentials_from(lookup)
    .unwrap();
    let Credentials::Basic { user, password } = &c else {
        panic!("{c:?}")
    };
    assert_eq!((user.as_str(), password.expose().as_str()), ("bob", "pw"));
    let e = CredentialSource::TokenEnv { var: "NOPE".into() }
        .http_credentials_from(lookup)
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Unauthenticated);
    assert_eq!(
        e.to_string(),
        "unauthenticated for profile: the variable NOPE named by the profile is not set"
    );
    assert!(matches!(
        CredentialSource::Environment
            .http_credentials_from(lookup)
            .unwrap(),
        Credentials::None
    ));
}

#[test]
fn storage_options_carry_encryption() {
    let p = Profile::from_toml_str(
        r#"
[environments.a]
root = "s3://bucket/a"
store = { encrypted = true, kms_key = "arn:aws:kms:eu-west-1:123456789012:key/k1" }
[environments.b]
root = "s3://bucket/b"
store = { encrypted = true }
tracking = "http://mlflow:5000"
[environments.c]
root = "memory://"
store = { encrypted = true }
"#,
    )
    .unwrap();
    let opts = |env: &str, d| p.environment(env).unwrap().storage_options(d);
    assert_eq!(
        opts("a", Domain::Registry),
        [
            (
                "aws_server_side_encryption".to_string(),
                "aws:kms".to_string()
            ),
            (
                "aws_sse_kms_key_id".to_string(),
                "arn:aws:kms:eu-west-1:123456789012:key/k1".to_string()
            ),
        ]
    );
    assert_eq!(
        opts("b", Domain::Audit),
        [(
            "aws_server_side_encryption".to_string(),
            "AES256".to_string()
        )]
    );
    assert!(opts("b", Domain::Tracking).is_empty());
    assert!(opts("c", Domain::Registry).is_empty());
    let e = p
        .environment("b")
        .unwrap()
        .open_storage(Domain::Tracking)
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidArgument);
    assert!(e.to_string().contains("not a storage URL"), "{e}");
    let s = p
        .environment("c")
        .unwrap()
        .open_storage(Domain::FeatureOffline)
        .unwrap();
    assert_eq!(s.prefix().as_ref(), "features/offline");
    assert_eq!(
        p.environment("c").unwrap().url(Domain::FeatureOffline),
        Some("memory:///features/offline")
    );
    assert_eq!(
        p.environment("a").unwrap().url(Domain::Audit),
        Some("s3://bucket/a/audit")
    );
}
