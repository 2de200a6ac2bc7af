//! Template and interface identifiers.
//!
//! The ledger prints identifiers in package-id form (`<package id>:<Module>:<Entity>`), while
//! clients may name them by package name (`#<package name>:<Module>:<Entity>`) in filters and
//! commands (`ledger-api.md` §1.6). An [`Identifier`] knows both, so either form matches.

use std::fmt;
use std::ops::Deref;
use std::sync::Arc;

/// Shared: every node of every transaction names its template, so a clone must cost nothing.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Identifier(Arc<IdentifierParts>);

#[derive(Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct IdentifierParts {
    pub package_id: String,
    pub package_name: String,
    pub module: String,
    pub entity: String,
    /// The package-id form, as a JSON string with its quotes: streams print it for nearly
    /// every event, so it is built once.
    pub wire_json: String,
}

impl Deref for Identifier {
    type Target = IdentifierParts;

    fn deref(&self) -> &IdentifierParts {
        &self.0
    }
}

impl Identifier {
    pub fn new(package_id: &str, package_name: &str, module: &str, entity: &str) -> Identifier {
        let mut wire_json = String::new();
        crate::model::compact::write_json_str(
            &format!("{package_id}:{module}:{entity}"),
            &mut wire_json,
        );
        Identifier(Arc::new(IdentifierParts {
            package_id: package_id.to_owned(),
            package_name: package_name.to_owned(),
            module: module.to_owned(),
            entity: entity.to_owned(),
            wire_json,
        }))
    }

    /// The package-id form the ledger writes.
    pub fn wire(&self) -> String {
        self.to_string()
    }

    /// Whether a client-given id (package-id or `#package-name` form) names this identifier.
    pub fn matches(&self, given: &str) -> bool {
        let mut parts = given.splitn(3, ':');
        let (Some(package), Some(module), Some(entity)) =
            (parts.next(), parts.next(), parts.next())
        else {
            return false;
        };
        let package_ok = match package.strip_prefix('#') {
            Some(name) => name == self.package_name,
            None => package == self.package_id,
        };
        package_ok && module == self.module && entity == self.entity
    }
}

impl fmt::Display for Identifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}:{}", self.package_id, self.module, self.entity)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_both_reference_forms() {
        let id = Identifier::new("abc", "my-pkg", "A.B", "T");
        assert_eq!(id.wire(), "abc:A.B:T");
        assert!(id.matches("abc:A.B:T"));
        assert!(id.matches("#my-pkg:A.B:T"));
        assert!(!id.matches("#other:A.B:T"));
        assert!(!id.matches("abc:A.B"));
    }
}
