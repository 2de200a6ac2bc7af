//! Shared by the integration tests: locating the recorded fixtures in `../shared` and comparing
//! JSON "nothing lost" style.
#![allow(dead_code)] // each test binary uses a different subset

use std::path::PathBuf;

use serde_json::Value;

/// `../shared` beside the workspace root.
pub fn shared_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared")
}

/// The text of `../shared/<relative>`, or `None` (after saying so) when the shared folder is not
/// there. In CI (`CI=true`) a missing fixture is a failure, never a silent pass.
pub fn read_shared(relative: &str) -> Option<String> {
    let path = shared_dir().join(relative);
    match std::fs::read_to_string(&path) {
        Ok(text) => Some(text),
        Err(e) => {
            let message = format!("fixture {} is not readable: {e}", path.display());
            if std::env::var("CI").is_ok_and(|v| v == "true") {
                panic!("{message} (CI=true: fixtures are required)");
            }
            eprintln!("SKIPPED: {message}; the test checks nothing without ../shared");
            None
        }
    }
}

/// Checks that `output` keeps everything `input` said: every key of `input` is in `output` with
/// an equal value (recursively), arrays have the same length and elements. The one tolerated
/// difference is a key absent from `input` that `output` writes with an empty/default value
/// (`null`, `""`, `[]`, `{}`, `false`, `0`, or an object of only such values): that is the
/// server's "write every field" convention. Returns the JSON path of the first difference.
pub fn assert_nothing_lost(input: &Value, output: &Value) -> Result<(), String> {
    compare(input, output, &mut String::from("$"))
}

fn compare(input: &Value, output: &Value, path: &mut String) -> Result<(), String> {
    match (input, output) {
        (Value::Object(i), Value::Object(o)) => {
            for (key, iv) in i {
                let len = path.len();
                path.push('.');
                path.push_str(key);
                match o.get(key) {
                    Some(ov) => compare(iv, ov, path)?,
                    None => return Err(format!("{path}: lost (input had {iv})")),
                }
                path.truncate(len);
            }
            for (key, ov) in o {
                if !i.contains_key(key) && !is_default(ov) {
                    return Err(format!("{path}.{key}: added with non-default value {ov}"));
                }
            }
            Ok(())
        }
        (Value::Array(i), Value::Array(o)) => {
            if i.len() != o.len() {
                return Err(format!("{path}: {} elements became {}", i.len(), o.len()));
            }
            for (n, (iv, ov)) in i.iter().zip(o).enumerate() {
                let len = path.len();
                path.push_str(&format!("[{n}]"));
                compare(iv, ov, path)?;
                path.truncate(len);
            }
            Ok(())
        }
        _ if input == output => Ok(()),
        _ => Err(format!("{path}: {input} became {output}")),
    }
}

fn is_default(v: &Value) -> bool {
    match v {
        Value::Null => true,
        Value::Bool(b) => !b,
        Value::Number(n) => n.as_f64() == Some(0.0),
        Value::String(s) => s.is_empty(),
        Value::Array(a) => a.is_empty(),
        Value::Object(o) => o.values().all(is_default),
    }
}

#[test]
fn comparison_reports_the_path_of_the_first_difference() {
    let input = serde_json::json!({"a": {"b": [1, {"c": "x"}]}});
    let lost = serde_json::json!({"a": {"b": [1, {}]}});
    assert_eq!(
        assert_nothing_lost(&input, &lost).unwrap_err(),
        "$.a.b[1].c: lost (input had \"x\")"
    );
    let changed = serde_json::json!({"a": {"b": [2, {"c": "x"}]}});
    assert_eq!(
        assert_nothing_lost(&input, &changed).unwrap_err(),
        "$.a.b[0]: 1 became 2"
    );
    let defaults_added =
        serde_json::json!({"a": {"b": [1, {"c": "x", "d": null}], "e": ""}, "f": []});
    assert_nothing_lost(&input, &defaults_added).unwrap();
    let value_added = serde_json::json!({"a": {"b": [1, {"c": "x"}]}, "g": 1});
    assert!(assert_nothing_lost(&input, &value_added).is_err());
}
