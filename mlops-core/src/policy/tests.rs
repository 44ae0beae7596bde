use super::*;
use crate::{ErrorKind, ResourceKind};

const SAMPLE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../examples/policy.toml");

fn sample() -> Policy {
    Policy::load(SAMPLE).unwrap()
}

fn r(s: &str) -> ResourceRef {
    s.parse().unwrap()
}

#[test]
fn sample_policy_decisions_and_explanations() {
    let p = sample();
    let alice = Principal::user("alice");
    let bob = Principal::user("bob");
    let ci = Principal::service("ci");
    let prod = r("model:fraud-detector@production");

    let d = p.explain(&bob, Action::Promote, &prod);
    assert!(d.allowed);
    assert_eq!(
        d.to_string(),
        "allowed: bob has role ml-approver via binding #2 (model:fraud-* promote @production)"
    );
    let d = p.explain(&alice, Action::Promote, &prod);
    assert!(!d.allowed);
    assert_eq!(
        d.to_string(),
        "denied: alice has role data-scientist via group data-science, binding #1 \
         (deny model:* promote @production)"
    );
    let d = p.explain(&alice, Action::Write, &r("model:fraud-detector"));
    assert!(d.allowed);
    assert_eq!(
        d.to_string(),
        "allowed: alice has role data-scientist via group data-science, binding #1 \
         (model:fraud-* write)"
    );
    let d = p.explain(&alice, Action::Delete, &r("model:fraud-detector"));
    assert_eq!(d.rule, Rule::DefaultDeny);
    assert_eq!(
        d.to_string(),
        "denied: default deny (no binding grants alice delete on model:fraud-detector)"
    );
    // bob reads anything, but may not promote other models
    assert!(p.explain(&bob, Action::Read, &r("audit:log")).allowed);
    assert!(
        !p.explain(&bob, Action::Promote, &r("model:churn@production"))
            .allowed
    );
    // ci materializes payments views, promotes to staging only
    assert!(
        p.explain(&ci, Action::Materialize, &r("feature_view:payments/txn"))
            .allowed
    );
    assert!(
        !p.explain(&ci, Action::Materialize, &r("feature_view:billing/x"))
            .allowed
    );
    assert!(
        p.explain(&ci, Action::Promote, &r("model:fraud-x@staging"))
            .allowed
    );
    assert!(!p.explain(&ci, Action::Promote, &prod).allowed);
    // a *user* called "ci" is not the declared service account
    let fake_ci = Principal::user("ci");
    assert!(
        !p.explain(
            &fake_ci,
            Action::Materialize,
            &r("feature_view:payments/txn")
        )
        .allowed
    );
    // an unknown principal gets nothing
    assert!(
        !p.explain(&Principal::user("mallory"), Action::Read, &prod)
            .allowed
    );
}

#[test]
fn roles_come_from_the_policy_not_the_caller() {
    let p = sample();
    let alice = Principal::user("alice").with_roles(["ml-approver"]);
    assert_eq!(p.roles_of(&alice), vec!["data-scientist".to_string()]);
    assert_eq!(
        p.roles_of(&Principal::user("bob")),
        vec!["ml-approver".to_string()]
    );
    assert_eq!(
        p.roles_of(&Principal::service("ci")),
        vec!["pipeline".to_string()]
    );
    // claimed role does not let alice approve
    assert!(
        !p.explain(&alice, Action::Approve, &r("model:fraud-a@production"))
            .allowed
    );
    // a group claim from the authenticator counts
    let carol = Principal::user("carol").with_groups(["data-science"]);
    assert_eq!(p.roles_of(&carol), vec!["data-scientist".to_string()]);
}

#[test]
fn deny_wins_and_admin_implies_all() {
    let p = Policy::from_toml(
        r#"
        [[roles]]
        name = "root"
        allow = [{ actions = ["admin"], resources = ["*:*"] }]
        [[roles]]
        name = "no-audit-delete"
        deny = [{ actions = ["delete"], resources = ["audit:*"] }]
        [[bindings]]
        role = "root"
        principals = ["ops"]
        [[bindings]]
        role = "no-audit-delete"
        groups = ["everyone"]
        "#,
    )
    .unwrap();
    let ops = Principal::user("ops");
    for a in Action::ALL {
        let d = p.explain(&ops, a, &r("model:m@production"));
        assert!(d.allowed, "{a}");
        assert_eq!(
            d.to_string(),
            "allowed: ops has role root via binding #1 (*:* admin)"
        );
    }
    let ops = ops.with_groups(["everyone"]);
    let d = p.explain(&ops, Action::Delete, &r("audit:trail"));
    assert!(!d.allowed);
    assert_eq!(
        d.to_string(),
        "denied: ops has role no-audit-delete via group everyone, binding #2 (deny audit:* delete)"
    );
    assert!(p.explain(&ops, Action::Read, &r("audit:trail")).allowed);
}

fn toml_err(src: &str) -> String {
    let e = Policy::from_toml(src).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidArgument);
    e.to_string()
}

#[test]
fn validation_errors_name_problem_and_line() {
    let role =
        "[[roles]]\nname = \"r\"\nallow = [{ actions = [\"read\"], resources = [\"model:*\"] }]\n";
    assert_eq!(
        toml_err(&format!(
            "{role}[[bindings]]\nrole = \"ml-aprover\"\nprincipals = [\"a\"]\n"
        )),
        "invalid policy \"<toml>:5\": binding #1 references unknown role \"ml-aprover\""
    );
    assert_eq!(
        toml_err(&format!(
            "{role}[[roles]]\nname = \"r\"\ndeny = [{{ actions = [\"read\"], resources = [\"model:*\"] }}]\n"
        )),
        "invalid policy \"<toml>:5\": duplicate role \"r\""
    );
    assert_eq!(
        toml_err(
            "[[roles]]\nname = \"r\"\n\nallow = [\n  { actions = [\"deploy\"], resources = [\"model:*\"] },\n]\n"
        ),
        "invalid policy \"<toml>:5\": unknown action \"deploy\" in role \"r\"; expected one of \
         read, write, delete, approve, promote, materialize, admin"
    );
    let s = toml_err(
        "[[roles]]\nname = \"r\"\nallow = [\n  { actions = [\"read\"], resources = [\n    \"model:ok\",\n    \"modle:fraud-*\",\n  ] },\n]\n",
    );
    assert!(
        s.starts_with(
            "invalid policy \"<toml>:6\": bad pattern \"modle:fraud-*\" in role \"r\": unknown resource kind \"modle\""
        ),
        "{s}"
    );
    let s = toml_err(
        "[[roles]]\nname = \"r\"\nallow = [{ actions = [\"read\"], resources = [\"model:a b\"] }]\n",
    );
    assert!(
        s.starts_with("invalid policy \"<toml>:3\": bad pattern \"model:a b\""),
        "{s}"
    );
    let s = toml_err("[[roles]]\nname = \"r\"\nalow = []\n");
    assert!(
        s.starts_with("invalid policy \"<toml>:3\": unknown field `alow`"),
        "{s}"
    );
    let s = toml_err("[[roles]\nname = 1\n");
    assert!(s.starts_with("invalid policy \"<toml>:1\""), "{s}");
    assert_eq!(
        toml_err("[[principals]]\nid = \"x\"\nkind = \"robot\"\n"),
        "invalid policy \"<toml>:3\": unknown principal kind \"robot\" for \"x\"; \
         expected user, service_account or group"
    );
    assert_eq!(
        toml_err(&format!("{role}\n[[bindings]]\nrole = \"r\"\n")),
        "invalid policy \"<toml>:6\": binding #1 (role \"r\") binds no principals or groups"
    );
    assert_eq!(
        toml_err("version = 2\n"),
        "invalid policy \"<toml>:1\": unsupported policy version 2; expected 1"
    );
}

const YAML: &str = "\
version: 1
principals:
  - id: bob
    groups: [approvers]
roles:
  - name: ml-approver
    allow:
      - actions: [approve, promote]
        resources: ['model:fraud-*@production']
bindings:
  - role: ml-approver
    groups: [approvers]
";

#[test]
fn yaml_policies_load_and_report_lines() {
    let p = Policy::from_yaml(YAML).unwrap();
    let d = p.explain(
        &Principal::user("bob"),
        Action::Approve,
        &ResourceRef::new(ResourceKind::Model, "fraud-1").in_env("production"),
    );
    assert_eq!(
        d.to_string(),
        "allowed: bob has role ml-approver via group approvers, binding #1 \
         (model:fraud-* approve @production)"
    );
    let bad = YAML.replace("  - role: ml-approver", "  - role: ml-aprover");
    assert_eq!(
        Policy::from_yaml(&bad).unwrap_err().to_string(),
        "invalid policy \"<yaml>:11\": binding #1 references unknown role \"ml-aprover\""
    );
    let bad = YAML.replace("[approve, promote]", "[approve, deploy]");
    assert!(
        Policy::from_yaml(&bad)
            .unwrap_err()
            .to_string()
            .starts_with("invalid policy \"<yaml>:8\": unknown action \"deploy\""),
    );
    let bad = YAML.replace("    allow:", "    alow:");
    let e = Policy::from_yaml(&bad).unwrap_err().to_string();
    assert!(e.starts_with("invalid policy \"<yaml>:7\""), "{e}");
    assert!(e.contains("unknown field `alow`"), "{e}");
    // file loading picks the format from the extension
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("p.yaml");
    std::fs::write(&path, YAML).unwrap();
    let loaded = Policy::load(&path).unwrap();
    assert_eq!(loaded.bindings().len(), 1);
    assert_eq!(loaded.source(), path.display().to_string());
}

#[tokio::test]
async fn authorizer_trait_objects() {
    let auth: Arc<dyn Authorizer> = Arc::new(sample());
    assert_eq!(auth.to_string(), format!("Policy({SAMPLE})"));
    let alice = Principal::user("alice");
    let prod = r("model:fraud-detector@production");
    let e = auth
        .check(&alice, Action::Promote, &prod)
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::PermissionDenied);
    match &e {
        crate::Error::PermissionDenied {
            principal,
            action,
            resource,
            reason,
        } => {
            assert_eq!(principal, "alice");
            assert_eq!(action, "promote");
            assert_eq!(resource, "model:fraud-detector@production");
            assert!(reason.as_deref().unwrap().contains("binding #1"));
        }
        other => panic!("{other:?}"),
    }
    let bob = Principal::user("bob");
    assert!(auth.check(&bob, Action::Promote, &prod).await.is_ok());
    assert_eq!(auth.roles_of(&bob).await.unwrap(), vec!["ml-approver"]);

    let boxed: Box<dyn Authorizer> = Box::new(AllowAll);
    let d = boxed.authorize(&alice, Action::Admin, &prod).await.unwrap();
    assert!(d.allowed);
    assert_eq!(d.rule, Rule::AllowAll);
    assert_eq!(
        boxed
            .roles_of(&alice.clone().with_roles(["b", "a", "b"]))
            .await
            .unwrap(),
        vec!["a", "b"]
    );
}
