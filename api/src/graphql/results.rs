//! A project's results (IATI `result`): `setResults` and `Project.results`.
//!
//! A result has a type, a title and indicators; an indicator a measure, a baseline and periods
//! with a target and an actual. Values are decimals sent and returned as strings (`"12.5"`),
//! so no float enters an event; a qualitative indicator (measure 5) has none. Results are
//! updated over time by setting the list again (a new actual, say): each change is an event.
//! What breaks the rules of results the domain refuses (`ProjectError::ResultRule`), naming the
//! same input paths as [`parse`].

use amanah_domain::project::{
    Baseline as BaselineRow, Indicator as IndicatorRow, IndicatorPeriod as PeriodRow,
    Measurement as MeasurementRow, ProjectCommand, ProjectResult as ResultRow, SetResults,
};
use amanah_domain::values::{
    Description, FieldPath, IndicatorMeasure, IndicatorValue, ResultType, Title,
};
use async_graphql::{Context, ID, InputObject, SimpleObject};

use super::command::{self, invalid, optional};
use super::project_commands::{ProjectPayload, payload};
use super::reference_data::Code;
use super::scalars::Date;
use crate::error::ApiError;

/// `setResults`: the project's results, the whole list (an empty list clears it).
#[derive(InputObject, Clone, Debug)]
pub struct SetResultsInput {
    pub project_id: ID,
    pub expected_version: i64,
    pub results: Vec<ResultInput>,
}

/// One result.
#[derive(InputObject, Clone, Debug)]
pub struct ResultInput {
    /// IATI ResultType code: 1 output, 2 outcome, 3 impact, 9 other.
    #[graphql(name = "type")]
    pub result_type: String,
    pub title: String,
    pub description: Option<String>,
    /// At least one.
    pub indicators: Vec<IndicatorInput>,
}

/// One indicator of a result.
#[derive(InputObject, Clone, Debug)]
pub struct IndicatorInput {
    /// IATI IndicatorMeasure code: 1 unit, 2 percentage, 3 nominal, 4 ordinal, 5 qualitative.
    pub measure: String,
    /// Whether a higher value is better.
    pub ascending: Option<bool>,
    pub title: String,
    pub description: Option<String>,
    pub baseline: Option<BaselineInput>,
    pub periods: Vec<IndicatorPeriodInput>,
}

/// Where an indicator starts from.
#[derive(InputObject, Clone, Debug)]
pub struct BaselineInput {
    pub year: i32,
    pub date: Option<Date>,
    /// A decimal such as "12.5"; required unless the measure is qualitative, then absent.
    pub value: Option<String>,
    pub comment: Option<String>,
}

/// One reporting period of an indicator.
#[derive(InputObject, Clone, Debug)]
pub struct IndicatorPeriodInput {
    pub period_start: Date,
    pub period_end: Date,
    pub target: Option<MeasurementInput>,
    pub actual: Option<MeasurementInput>,
}

/// A target or an actual.
#[derive(InputObject, Clone, Debug)]
pub struct MeasurementInput {
    /// A decimal such as "12.5"; required unless the measure is qualitative, then absent.
    pub value: Option<String>,
    pub comment: Option<String>,
}

/// A result of the project (IATI `result`).
#[derive(SimpleObject, Debug)]
#[graphql(name = "Result")]
pub struct ProjectResult {
    /// IATI ResultType.
    #[graphql(name = "type")]
    result_type: Code,
    title: String,
    description: Option<String>,
    indicators: Vec<Indicator>,
}

/// How a result is measured (IATI `result/indicator`).
#[derive(SimpleObject, Debug)]
pub struct Indicator {
    /// IATI IndicatorMeasure.
    measure: Code,
    ascending: Option<bool>,
    title: String,
    description: Option<String>,
    baseline: Option<Baseline>,
    periods: Vec<IndicatorPeriod>,
}

/// Where an indicator starts from.
#[derive(SimpleObject, Debug)]
pub struct Baseline {
    year: i32,
    date: Option<Date>,
    /// A decimal as a string; null for a qualitative measure.
    value: Option<String>,
    comment: Option<String>,
}

/// One reporting period of an indicator.
#[derive(SimpleObject, Debug)]
pub struct IndicatorPeriod {
    period_start: Date,
    period_end: Date,
    target: Option<Measurement>,
    actual: Option<Measurement>,
}

/// A target or an actual.
#[derive(SimpleObject, Debug)]
pub struct Measurement {
    /// A decimal as a string; null for a qualitative measure.
    value: Option<String>,
    comment: Option<String>,
}

fn text(value: Option<&Description>) -> Option<String> {
    value.map(|text| text.as_str().to_owned())
}

fn measurement(row: &MeasurementRow) -> Measurement {
    Measurement {
        value: row.value.as_ref().map(|v| v.as_str().to_owned()),
        comment: text(row.comment.as_ref()),
    }
}

impl From<&ResultRow> for ProjectResult {
    fn from(row: &ResultRow) -> Self {
        Self {
            result_type: Code::from(row.result_type.entry()),
            title: row.title.as_str().to_owned(),
            description: text(row.description.as_ref()),
            indicators: row
                .indicators
                .iter()
                .map(|indicator| Indicator {
                    measure: Code::from(indicator.measure.entry()),
                    ascending: indicator.ascending,
                    title: indicator.title.as_str().to_owned(),
                    description: text(indicator.description.as_ref()),
                    baseline: indicator.baseline.as_ref().map(|baseline| Baseline {
                        year: i32::from(baseline.year),
                        date: baseline.date.map(Date::from),
                        value: baseline.value.as_ref().map(|v| v.as_str().to_owned()),
                        comment: text(baseline.comment.as_ref()),
                    }),
                    periods: indicator
                        .periods
                        .iter()
                        .map(|period| IndicatorPeriod {
                            period_start: period.period_start.into(),
                            period_end: period.period_end.into(),
                            target: period.target.as_ref().map(measurement),
                            actual: period.actual.as_ref().map(measurement),
                        })
                        .collect(),
                })
                .collect(),
        }
    }
}

fn description(value: Option<&str>, at: FieldPath) -> Result<Option<Description>, ApiError> {
    optional(value, at, Description::parse)
}

fn measured(
    input: Option<&MeasurementInput>,
    at: FieldPath,
) -> Result<Option<MeasurementRow>, ApiError> {
    let Some(input) = input else {
        return Ok(None);
    };
    Ok(Some(MeasurementRow {
        value: optional(
            input.value.as_deref(),
            at.clone().field("value"),
            IndicatorValue::parse,
        )?,
        comment: description(input.comment.as_deref(), at.field("comment"))?,
    }))
}

fn indicator(input: &IndicatorInput, at: &FieldPath) -> Result<IndicatorRow, ApiError> {
    let field = |leaf| at.clone().field(leaf);
    let baseline = match &input.baseline {
        None => None,
        Some(baseline) => {
            let at = field("baseline");
            let year = u16::try_from(baseline.year)
                .ok()
                .filter(|year| *year > 0)
                .ok_or_else(|| {
                    let field = at.clone().field("year");
                    ApiError::bad_user_input(
                        field.to_string(),
                        format!("{field} must be a year such as 2016"),
                    )
                })?;
            Some(BaselineRow {
                year,
                date: match &baseline.date {
                    Some(date) => Some(date.parse(at.clone().field("date"))?),
                    None => None,
                },
                value: optional(
                    baseline.value.as_deref(),
                    at.clone().field("value"),
                    IndicatorValue::parse,
                )?,
                comment: description(baseline.comment.as_deref(), at.field("comment"))?,
            })
        }
    };
    let periods = input
        .periods
        .iter()
        .enumerate()
        .map(|(index, period)| {
            let at = field("periods").index(index);
            Ok(PeriodRow {
                period_start: period.period_start.parse(at.clone().field("periodStart"))?,
                period_end: period.period_end.parse(at.clone().field("periodEnd"))?,
                target: measured(period.target.as_ref(), at.clone().field("target"))?,
                actual: measured(period.actual.as_ref(), at.field("actual"))?,
            })
        })
        .collect::<Result<Vec<_>, ApiError>>()?;
    Ok(IndicatorRow {
        measure: IndicatorMeasure::parse(&input.measure).map_err(invalid(field("measure")))?,
        ascending: input.ascending,
        title: Title::parse(&input.title).map_err(invalid(field("title")))?,
        description: description(input.description.as_deref(), field("description"))?,
        baseline,
        periods,
    })
}

/// Parses `results` into the domain's rows, naming the input field at fault.
///
/// # Errors
/// `BAD_USER_INPUT` naming e.g. `results[0].indicators[1].periods[0].target.value`.
pub fn parse(results: &[ResultInput]) -> Result<Vec<ResultRow>, ApiError> {
    results
        .iter()
        .enumerate()
        .map(|(index, result)| {
            let at = FieldPath::list("results", index);
            let field = |leaf| at.clone().field(leaf);
            Ok(ResultRow {
                result_type: ResultType::parse(&result.result_type)
                    .map_err(invalid(field("type")))?,
                title: Title::parse(&result.title).map_err(invalid(field("title")))?,
                description: description(result.description.as_deref(), field("description"))?,
                indicators: result
                    .indicators
                    .iter()
                    .enumerate()
                    .map(|(i, row)| indicator(row, &field("indicators").index(i)))
                    .collect::<Result<Vec<_>, ApiError>>()?,
            })
        })
        .collect()
}

/// Parses and runs `setResults`.
///
/// # Errors
/// `BAD_USER_INPUT` naming the field at fault (or `input` when nothing changes), `NOT_FOUND`,
/// `CONFLICT`.
pub async fn set_results(
    ctx: &Context<'_>,
    input: SetResultsInput,
) -> Result<ProjectPayload, ApiError> {
    let (id, expected) = command::target(&input.project_id, "projectId", input.expected_version)?;
    let command = ProjectCommand::SetResults(SetResults {
        project_id: id,
        results: parse(&input.results)?,
    });
    payload(ctx, id, expected, command, Vec::new()).await
}
