//! A reader's `EventFormat`, resolved against the ledger's parties: per requesting party, which
//! templates it wants, which interfaces (and whether with views), and whether it wants blobs.

use std::collections::{BTreeMap, BTreeSet};

use canton_ledger::filters::{EventFormat, Filters, IdentifierFilter};

use crate::model::template::Identifier;

#[derive(Debug, Clone, Default)]
struct PartyFilter {
    wildcard: bool,
    templates: Vec<String>,
    /// (interface id as given, include view)
    interfaces: Vec<(String, bool)>,
}

impl PartyFilter {
    fn from_filters(filters: &Filters) -> PartyFilter {
        let mut f = PartyFilter::default();
        // An empty cumulative list is a party-wildcard (`ledger-api.md` §2.2).
        if filters.cumulative.is_empty() {
            f.wildcard = true;
        }
        for c in &filters.cumulative {
            match &c.identifier_filter {
                IdentifierFilter::Empty(_) => f.wildcard = true,
                IdentifierFilter::WildcardFilter(_) => f.wildcard = true,
                IdentifierFilter::TemplateFilter(t) => {
                    f.templates.push(t.value.template_id.clone())
                }
                IdentifierFilter::InterfaceFilter(i) => f
                    .interfaces
                    .push((i.value.interface_id.clone(), i.value.include_interface_view)),
            }
        }
        f
    }

    fn matches(&self, template: &Identifier, implemented: &[Identifier]) -> bool {
        self.wildcard
            || self.templates.iter().any(|t| template.matches(t))
            || self
                .interfaces
                .iter()
                .any(|(i, _)| implemented.iter().any(|imp| imp.matches(i)))
    }

    /// Implemented interfaces this party asked views of.
    fn views<'a>(&self, implemented: &'a [Identifier]) -> impl Iterator<Item = &'a Identifier> {
        implemented.iter().filter(|imp| {
            self.interfaces
                .iter()
                .any(|(i, with_view)| *with_view && imp.matches(i))
        })
    }
}

#[derive(Debug, Clone, Default)]
pub struct ResolvedFilter {
    by_party: BTreeMap<String, PartyFilter>,
}

impl ResolvedFilter {
    /// `filtersForAnyParty` applies to every party hosted here, merged with any per-party filter.
    pub fn new<'a>(format: &EventFormat, hosted: impl IntoIterator<Item = &'a str>) -> Self {
        let mut by_party: BTreeMap<String, PartyFilter> = format
            .filters_by_party
            .iter()
            .map(|(p, f)| (p.clone(), PartyFilter::from_filters(f)))
            .collect();
        if let Some(any) = &format.filters_for_any_party {
            let any = PartyFilter::from_filters(any);
            for party in hosted {
                let entry = by_party.entry(party.to_owned()).or_default();
                entry.wildcard |= any.wildcard;
                entry.templates.extend(any.templates.iter().cloned());
                entry.interfaces.extend(any.interfaces.iter().cloned());
            }
        }
        ResolvedFilter { by_party }
    }

    pub fn parties(&self) -> impl Iterator<Item = &str> {
        self.by_party.keys().map(String::as_str)
    }

    /// Requesting parties among `candidates` whose filter matches the template.
    pub fn matching<'a>(
        &self,
        candidates: impl IntoIterator<Item = &'a str>,
        template: &Identifier,
        implemented: &[Identifier],
    ) -> BTreeSet<String> {
        candidates
            .into_iter()
            .filter(|p| {
                self.by_party
                    .get(*p)
                    .is_some_and(|f| f.matches(template, implemented))
            })
            .map(str::to_owned)
            .collect()
    }

    /// Interfaces, in the template's order, that one of `parties` asked a view of: the interface
    /// views of a created event and the `implementedInterfaces` of a consuming one.
    pub fn rendered_interfaces<'a>(
        &self,
        parties: &BTreeSet<String>,
        implemented: &'a [Identifier],
    ) -> Vec<&'a Identifier> {
        implemented
            .iter()
            .filter(|imp| {
                parties.iter().any(|p| {
                    self.by_party
                        .get(p)
                        .is_some_and(|f| f.views(std::slice::from_ref(*imp)).next().is_some())
                })
            })
            .collect()
    }
}
