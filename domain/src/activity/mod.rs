//! Anti-corruption activities: trainings, workshops, conferences, cooperative audits… done under
//! one project.
//!
//! An activity is planned (under a project that is neither Cancelled nor Closed), may be
//! rescheduled while PLANNED, and ends COMPLETED (with actual dates, participants and an optional
//! outcome) or CANCELLED (with a reason).

pub mod commands;
mod decide;
pub mod error;
pub mod events;

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::aggregate::{Aggregate, DecisionContext, StreamKind};
use crate::codelists::{
    ActivityKind, ActivityPartnerRole, ActivityStatus, AuditType, UncacChapter,
};
use crate::values::{City, CountryCode, Description, FieldPath, Title, parse_count};

pub use commands::*;
pub use error::ActivityError;
pub use events::*;

/// An activity, as its events made it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Activity {
    pub id: Uuid,
    pub project_id: Uuid,
    pub title: Title,
    pub description: Description,
    pub kind: ActivityKind,
    /// At least one, no duplicates.
    pub uncac_chapters: Vec<UncacChapter>,
    /// Present exactly when `kind` is AUDIT.
    pub audit_type: Option<AuditType>,
    /// At least one ORGANISER.
    pub partners: Vec<ActivityPartner>,
    pub location: ActivityLocation,
    pub status: ActivityStatus,
    pub planned_start: NaiveDate,
    pub planned_end: NaiveDate,
    pub actual_start: Option<NaiveDate>,
    pub actual_end: Option<NaiveDate>,
    /// Recorded at completion.
    pub participants: Option<Participants>,
    /// Recorded at completion.
    pub outcome: Option<Description>,
    /// Recorded at cancellation.
    pub cancellation_reason: Option<Description>,
    /// Number of events in the stream.
    pub version: u64,
}

/// An organisation taking part in an activity in one role.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ActivityPartner {
    pub organisation_id: Uuid,
    pub role: ActivityPartnerRole,
}

/// Where an activity takes place: in a country (and optionally a city), or online.
///
/// Serialises in the GraphQL shape `{"country": "ID", "city": "Jakarta", "online": false}` or
/// `{"country": null, "city": null, "online": true}`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "LocationRepr", into = "LocationRepr")]
pub enum ActivityLocation {
    Site {
        country: CountryCode,
        city: Option<City>,
    },
    Online,
}

#[derive(Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct LocationRepr {
    country: Option<CountryCode>,
    city: Option<City>,
    online: bool,
}

impl TryFrom<LocationRepr> for ActivityLocation {
    type Error = ActivityError;
    fn try_from(repr: LocationRepr) -> Result<Self, Self::Error> {
        Self::from_input(repr.country, repr.city, Some(repr.online))
    }
}

impl From<ActivityLocation> for LocationRepr {
    fn from(location: ActivityLocation) -> Self {
        match location {
            ActivityLocation::Site { country, city } => Self {
                country: Some(country),
                city,
                online: false,
            },
            ActivityLocation::Online => Self {
                country: None,
                city: None,
                online: true,
            },
        }
    }
}

impl ActivityLocation {
    /// Builds a location from the GraphQL `ActivityLocationInput { country, city, online }`
    /// (values already parsed): `online: true` with neither country nor city, or a country with an
    /// optional city.
    ///
    /// # Errors
    /// [`ActivityError::OnlineWithPlace`] (field `location.country` or `location.city`) when an
    /// online activity names a place, [`ActivityError::LocationCountryRequired`]
    /// (`location.country`) when an activity that is not online names no country.
    pub fn from_input(
        country: Option<CountryCode>,
        city: Option<City>,
        online: Option<bool>,
    ) -> Result<Self, ActivityError> {
        if online == Some(true) {
            if country.is_some() {
                return Err(ActivityError::OnlineWithPlace {
                    field: FieldPath::new("location.country"),
                });
            }
            if city.is_some() {
                return Err(ActivityError::OnlineWithPlace {
                    field: FieldPath::new("location.city"),
                });
            }
            return Ok(Self::Online);
        }
        match country {
            Some(country) => Ok(Self::Site { country, city }),
            None => Err(ActivityError::LocationCountryRequired),
        }
    }

    /// The country, unless online.
    #[must_use]
    pub const fn country(&self) -> Option<CountryCode> {
        match self {
            Self::Site { country, .. } => Some(*country),
            Self::Online => None,
        }
    }

    /// The city, if one was given.
    #[must_use]
    pub const fn city(&self) -> Option<&City> {
        match self {
            Self::Site { city, .. } => city.as_ref(),
            Self::Online => None,
        }
    }

    /// Whether the activity takes place online.
    #[must_use]
    pub const fn is_online(&self) -> bool {
        matches!(self, Self::Online)
    }
}

/// Who took part in a completed activity: `female + male + undisclosed = total`, and the per-country
/// counts, when given, add up to `total`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Participants {
    pub total: u32,
    pub female: u32,
    pub male: u32,
    pub undisclosed: u32,
    pub by_country: Vec<CountryCount>,
}

impl Participants {
    /// Builds the `participants` input from GraphQL `Int`s; whether the numbers add up is a rule
    /// of `completeActivity`.
    ///
    /// # Errors
    /// [`ActivityError::Invalid`] naming `participants.total`, `.female`, `.male`, `.undisclosed`,
    /// `participants.byCountry[i].country` or `participants.byCountry[i].count`.
    pub fn parse<C: AsRef<str>>(
        total: i64,
        female: i64,
        male: i64,
        undisclosed: i64,
        by_country: &[(C, i64)],
    ) -> Result<Self, ActivityError> {
        let count = |field: &'static str, raw| {
            parse_count(raw).map_err(ActivityError::invalid(
                FieldPath::new("participants").field(field),
            ))
        };
        let by_country = by_country
            .iter()
            .enumerate()
            .map(|(index, (country, raw))| {
                let at = |leaf| {
                    ActivityError::invalid(
                        FieldPath::list("participants.byCountry", index).field(leaf),
                    )
                };
                Ok(CountryCount {
                    country: CountryCode::parse(country.as_ref()).map_err(at("country"))?,
                    count: parse_count(*raw).map_err(at("count"))?,
                })
            })
            .collect::<Result<Vec<_>, ActivityError>>()?;
        Ok(Self {
            total: count("total", total)?,
            female: count("female", female)?,
            male: count("male", male)?,
            undisclosed: count("undisclosed", undisclosed)?,
            by_country,
        })
    }
}

/// Participants from one country.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CountryCount {
    pub country: CountryCode,
    pub count: u32,
}

impl Aggregate for Activity {
    const STREAM: StreamKind = StreamKind::Activity;
    type Command = ActivityCommand;
    type Event = ActivityEvent;
    type Error = ActivityError;

    fn id(&self) -> Uuid {
        self.id
    }

    fn reads(command: &Self::Command) -> Vec<crate::ports::StreamRead> {
        command.reads()
    }

    fn decide(
        state: Option<&Self>,
        command: ActivityCommand,
        context: &DecisionContext,
    ) -> Result<Vec<ActivityEvent>, ActivityError> {
        decide::decide(state, command, context)
    }

    fn evolve(state: Option<Self>, event: &ActivityEvent) -> Option<Self> {
        let Some(mut activity) = state else {
            return match event {
                ActivityEvent::ActivityPlanned(planned) => Some(planned.to_activity()),
                _ => None,
            };
        };
        match event {
            ActivityEvent::ActivityPlanned(_) => return Some(activity),
            ActivityEvent::ActivityRevised(revised) => {
                if let Some(title) = &revised.title {
                    activity.title = title.clone();
                }
                if let Some(description) = &revised.description {
                    activity.description = description.clone();
                }
                if let Some(partners) = &revised.partners {
                    activity.partners = partners.clone();
                }
                if let Some(location) = &revised.location {
                    activity.location = location.clone();
                }
            }
            ActivityEvent::ActivityRescheduled(rescheduled) => {
                activity.planned_start = rescheduled.planned_start;
                activity.planned_end = rescheduled.planned_end;
            }
            ActivityEvent::ActivityCompleted(completed) => {
                activity.status = ActivityStatus::Completed;
                activity.actual_start = Some(completed.actual_start);
                activity.actual_end = Some(completed.actual_end);
                activity.participants = Some(completed.participants.clone());
                activity.outcome = completed.outcome.clone();
            }
            ActivityEvent::ActivityCancelled(cancelled) => {
                activity.status = ActivityStatus::Cancelled;
                activity.cancellation_reason = Some(cancelled.reason.clone());
            }
        }
        activity.version += 1;
        Some(activity)
    }
}

#[cfg(test)]
mod tests;
