//! The record's `meta` object as given on the command line: `KEY=VALUE`
//! pairs (`--meta`, `cq meta`).

use serde_json::{Map, Value};

/// `KEY=VALUE` pairs from `--meta`, in the order given; a repeated key keeps
/// its first position and its last value.
pub fn parse_meta(pairs: &[String]) -> Result<Map<String, Value>, String> {
    let mut meta = Map::new();
    for p in pairs {
        match p.split_once('=') {
            Some((k, v)) if !k.is_empty() => {
                meta.insert(k.to_string(), Value::String(v.to_string()));
            }
            _ => return Err(format!("invalid --meta '{p}': expected KEY=VALUE")),
        }
    }
    Ok(meta)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn meta_pairs() {
        let m = parse_meta(&["a=1".into(), "b=x=y".into(), "a=2".into()]).unwrap();
        assert_eq!(serde_json::to_string(&m).unwrap(), r#"{"a":"2","b":"x=y"}"#);
        assert!(parse_meta(&["=v".into()]).is_err());
        assert!(parse_meta(&["novalue".into()]).is_err());
    }
}
