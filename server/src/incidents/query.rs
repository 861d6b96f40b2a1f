//! The query strings of the incident resources, checked strictly: every parameter known, every
//! value valid, each error naming its parameter. All take the filters; the list also `limit`
//! and `cursor`, the statistics `bucket`.
//!
//! `kind`, `status`, `severity` and `zone` take several values, as repeated parameters
//! (`kind=jam&kind=accident`) or a comma list (`kind=jam,accident`); the others at most one.

use std::fmt;
use std::str::FromStr;

use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;
use vigie_model::{EventKind, Severity, Status};
use vigie_store::{BoundingBox, Bucket, Cursor, IncidentFilter, MAX_LIMIT, MAX_TEXT_LEN};

use crate::error::truncate;
use crate::AppError;

/// Page size when `limit` is not given.
pub const DEFAULT_LIMIT: u32 = 100;
/// Most values one list parameter may carry.
const MAX_VALUES: usize = 50;
/// Longest zone or vehicle name, in characters.
const MAX_NAME_CHARS: usize = 64;

const FILTERS: [&str; 9] = [
    "kind", "status", "severity", "zone", "vehicle", "from", "to", "bbox", "text",
];

/// The incident resources, by the parameters they take besides the filters.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Resource {
    /// `/api/v1/incidents`: `limit`, `cursor`.
    List,
    /// `/api/v1/incidents.csv`, `.geojson`: the filters only.
    Export,
    /// `/api/v1/stats`: `bucket` (required).
    Stats,
}

impl Resource {
    fn extras(self) -> &'static [&'static str] {
        match self {
            Resource::List => &["limit", "cursor"],
            Resource::Export => &[],
            Resource::Stats => &["bucket"],
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct IncidentQuery {
    pub filter: IncidentFilter,
    pub limit: u32,
    pub cursor: Option<Cursor>,
    pub bucket: Option<Bucket>,
}

impl IncidentQuery {
    /// The query of `GET /api/v1/incidents`.
    pub fn parse(raw: &str) -> Result<IncidentQuery, AppError> {
        IncidentQuery::parse_for(Resource::List, raw)
    }

    pub fn parse_for(resource: Resource, raw: &str) -> Result<IncidentQuery, AppError> {
        let mut query = IncidentQuery {
            filter: IncidentFilter::default(),
            limit: DEFAULT_LIMIT,
            cursor: None,
            bucket: None,
        };
        let mut seen: Vec<String> = Vec::new();
        for (name, value) in form_urlencoded::parse(raw.as_bytes()) {
            let name = name.as_ref();
            if !FILTERS.contains(&name) && !resource.extras().contains(&name) {
                let known: Vec<&str> = FILTERS.iter().chain(resource.extras()).copied().collect();
                return Err(AppError::invalid(
                    truncate(name),
                    format!("is not a known parameter (known: {})", known.join(", ")),
                ));
            }
            let is_list = matches!(name, "kind" | "status" | "severity" | "zone");
            if !is_list && seen.iter().any(|s| s == name) {
                return Err(AppError::invalid(name, "must be given at most once"));
            }
            seen.push(name.to_owned());
            let filter = &mut query.filter;
            match name {
                "kind" => push_values(name, &value, &mut filter.kinds, wire_name(&EventKind::ALL))?,
                "status" => {
                    let statuses = wire_name(&Status::OF_INCIDENTS);
                    push_values(name, &value, &mut filter.statuses, statuses)?
                }
                "severity" => push_values(
                    name,
                    &value,
                    &mut filter.severities,
                    wire_name(&Severity::ALL),
                )?,
                "zone" => push_values(name, &value, &mut filter.zones, |v| {
                    name_value(v).map(str::to_owned)
                })?,
                "vehicle" => {
                    filter.vehicle = Some(
                        name_value(&value)
                            .map_err(|r| AppError::invalid(name, r))?
                            .into(),
                    )
                }
                "from" => {
                    filter.from = Some(instant(&value).map_err(|r| AppError::invalid(name, r))?)
                }
                "to" => filter.to = Some(instant(&value).map_err(|r| AppError::invalid(name, r))?),
                "bbox" => {
                    filter.bbox = Some(
                        value
                            .parse::<BoundingBox>()
                            .map_err(|r| AppError::invalid(name, r))?,
                    )
                }
                "text" => {
                    let length = value.chars().count();
                    if length == 0 || length > MAX_TEXT_LEN {
                        return Err(AppError::invalid(
                            name,
                            format!("must have 1 to {MAX_TEXT_LEN} characters"),
                        ));
                    }
                    filter.text = Some(value.into_owned());
                }
                "limit" => {
                    query.limit = value
                        .parse::<u32>()
                        .ok()
                        .filter(|limit| (1..=MAX_LIMIT).contains(limit))
                        .ok_or_else(|| {
                            AppError::invalid(
                                name,
                                format!("must be an integer from 1 to {MAX_LIMIT}"),
                            )
                        })?;
                }
                "cursor" => {
                    query.cursor = Some(
                        Cursor::decode(&value)
                            .map_err(|e| AppError::invalid(name, e.to_string()))?,
                    );
                }
                "bucket" => {
                    query.bucket = Some(value.parse().map_err(|()| {
                        AppError::invalid(name, "must be one of minute, hour, day")
                    })?);
                }
                _ => unreachable!("every known parameter is handled"),
            }
        }
        if resource == Resource::Stats && query.bucket.is_none() {
            return Err(AppError::invalid(
                "bucket",
                "is required (minute, hour or day)",
            ));
        }
        if let (Some(from), Some(to)) = (query.filter.from, query.filter.to) {
            if from > to {
                return Err(AppError::invalid("to", "must not be before `from`"));
            }
        }
        Ok(query)
    }
}

/// For resources that take no parameter.
pub fn reject_any(raw: &str) -> Result<(), AppError> {
    match form_urlencoded::parse(raw.as_bytes()).next() {
        Some((name, _)) => Err(AppError::invalid(
            truncate(&name),
            "is not a known parameter (none are)",
        )),
        None => Ok(()),
    }
}

pub fn is_ulid(s: &str) -> bool {
    s.len() == 26 && s.bytes().all(|b| b.is_ascii_alphanumeric())
}

/// Echoing a parameter name back is useful; echoing a megabyte of it is not.
fn push_values<T: PartialEq>(
    name: &str,
    value: &str,
    values: &mut Vec<T>,
    parse: impl Fn(&str) -> Result<T, String>,
) -> Result<(), AppError> {
    for item in value.split(',') {
        let parsed = parse(item).map_err(|reason| AppError::invalid(name, reason))?;
        if !values.contains(&parsed) {
            values.push(parsed);
        }
        if values.len() > MAX_VALUES {
            return Err(AppError::invalid(
                name,
                format!("takes at most {MAX_VALUES} values"),
            ));
        }
    }
    Ok(())
}

/// Parses one of a type's wire names; the error lists them all.
/// A value of `all` by its wire name (a wire name outside `all`, such as the event status
/// `update` for an incident, is unknown too).
fn wire_name<T: FromStr + fmt::Display + PartialEq>(
    all: &'static [T],
) -> impl Fn(&str) -> Result<T, String> {
    move |value| {
        value
            .parse()
            .ok()
            .filter(|v| all.contains(v))
            .ok_or_else(|| {
                let expected: Vec<String> = all.iter().map(ToString::to_string).collect();
                format!(
                    "has an unknown value {:?} (expected one of {})",
                    truncate(value),
                    expected.join(", ")
                )
            })
    }
}

fn name_value(value: &str) -> Result<&str, String> {
    let length = value.chars().count();
    if length == 0 || length > MAX_NAME_CHARS {
        return Err(format!("must have 1 to {MAX_NAME_CHARS} characters"));
    }
    Ok(value)
}

fn instant(value: &str) -> Result<OffsetDateTime, String> {
    let at = OffsetDateTime::parse(value, &Rfc3339)
        .map_err(|_| "must be an RFC 3339 date-time such as 2026-11-22T08:00:00Z".to_owned())?;
    if !(1000..=9999).contains(&at.year()) {
        return Err("must be between the years 1000 and 9999".into());
    }
    Ok(at)
}
