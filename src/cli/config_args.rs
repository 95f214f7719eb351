//! Command-line flags for every config field: one `--KEY` per row of the config's field table
//! ([`FIELDS`]), with the row's help, section and the paper's default; the value is read by the
//! row's own parser, so a flag takes exactly what the same key takes in a link.

use clap::{Arg, ArgMatches, Args, Command, FromArgMatches};
use gradcause::analysis::ablation::Ablation;
use gradcause::analysis::attribution::GWeights;
use gradcause::engine::task::Task;
use gradcause::experiment::config::{ExperimentConfig, FIELDS, Field, field_by_key};

/// Every METHOD.md default, settable; unset flags keep the paper's value.
#[derive(Clone, Debug, Default)]
pub struct ConfigArgs {
    /// The flags given: each field's key and text, in the table's order.
    given: Vec<(&'static str, String)>,
}

/// The flag of `field`: `--KEY VALUE`, checked by the field's parser as clap reads it.
fn flag(field: &'static Field, defaults: &ExperimentConfig) -> Arg {
    let scratch = defaults.clone();
    Arg::new(field.key)
        .long(field.key)
        .help(format!(
            "{} [default: {}]",
            field.help,
            (field.get)(defaults)
        ))
        .help_heading(field.section)
        .allow_negative_numbers(true)
        .value_parser(move |text: &str| -> Result<String, String> {
            (field.set)(&mut scratch.clone(), text)?;
            Ok(text.to_string())
        })
}

impl Args for ConfigArgs {
    fn augment_args(command: Command) -> Command {
        let defaults = ExperimentConfig::new(Task::Reverse, 0);
        FIELDS.iter().fold(command, |command, field| {
            command.arg(flag(field, &defaults))
        })
    }

    fn augment_args_for_update(command: Command) -> Command {
        Self::augment_args(command)
    }
}

impl FromArgMatches for ConfigArgs {
    fn from_arg_matches(matches: &ArgMatches) -> Result<Self, clap::Error> {
        let mut args = Self::default();
        args.update_from_arg_matches(matches)?;
        Ok(args)
    }

    fn update_from_arg_matches(&mut self, matches: &ArgMatches) -> Result<(), clap::Error> {
        for field in FIELDS {
            if let Some(text) = matches.get_one::<String>(field.key) {
                self.given.retain(|(key, _)| *key != field.key);
                self.given.push((field.key, text.clone()));
            }
        }
        Ok(())
    }
}

impl ConfigArgs {
    /// `config` with every given flag applied, not validated.
    fn apply(&self, mut config: ExperimentConfig) -> Result<ExperimentConfig, String> {
        for (key, text) in &self.given {
            let field = field_by_key(key).expect("a given flag is a field's");
            (field.set)(&mut config, text).map_err(|e| format!("--{key}: {e}"))?;
        }
        Ok(config)
    }

    /// The flags' config for a task whose own values do not matter here.
    fn applied(&self) -> ExperimentConfig {
        self.apply(ExperimentConfig::new(Task::Reverse, 0))
            .expect("clap checked every flag with its field's parser")
    }

    /// The G reading given with `--g-weights`, or the default.
    pub fn g_weights(&self) -> GWeights {
        self.applied().analysis.g_weights
    }

    /// The ablation given with `--pruning-ablation`, or the default.
    pub fn ablation(&self) -> Ablation {
        self.applied().analysis.pruning_ablation
    }

    /// Whether `--positions` was given.
    pub fn positions_given(&self) -> bool {
        self.given.iter().any(|(key, _)| *key == "positions")
    }

    /// The paper's config for `task` and `seed` with every given flag applied, validated.
    pub fn resolve(&self, task: Task, seed: u64) -> Result<ExperimentConfig, String> {
        let config = self.apply(ExperimentConfig::new(task, seed))?;
        config.validate().map_err(|e| e.to_string())?;
        Ok(config)
    }
}

#[cfg(test)]
mod tests {
    use clap::Parser;
    use gradcause::experiment::permalink::from_query;

    use super::*;

    #[derive(Parser)]
    struct Flags {
        #[command(flatten)]
        config: ConfigArgs,
    }

    fn parse(flags: &[&str]) -> Result<ConfigArgs, clap::Error> {
        let argv = std::iter::once("gradcause").chain(flags.iter().copied());
        Flags::try_parse_from(argv).map(|f| f.config)
    }

    /// Each field's example value, set by flag and by link key: the same config either way.
    #[test]
    fn every_field_is_a_flag_that_sets_what_its_link_key_sets() {
        let defaults = ExperimentConfig::new(Task::Sort, 9);
        for field in FIELDS {
            let (key, value) = (field.key, field.example);
            let one = parse(&[&format!("--{key}"), value]).unwrap();
            let mut alone = defaults.clone();
            (field.set)(&mut alone, value).unwrap();
            assert_ne!(alone, defaults, "{key}: {value} is its default");
            assert_eq!(one.apply(defaults.clone()).unwrap(), alone, "{key}");
        }
        let mut argv = Vec::new();
        for field in FIELDS {
            argv.push(format!("--{}", field.key));
            argv.push(field.example.to_string());
        }
        let argv: Vec<&str> = argv.iter().map(String::as_str).collect();
        let by_flags = parse(&argv).unwrap().resolve(Task::Sort, 9).unwrap();
        let query: Vec<String> = FIELDS
            .iter()
            .map(|f| format!("{}={}", f.key, f.example))
            .collect();
        let by_link = from_query(&format!("task=sort&seed=9&{}", query.join("&"))).unwrap();
        assert_eq!(by_flags, by_link);
    }

    #[test]
    fn bad_flags_are_refused_with_the_fields_message() {
        let error = parse(&["--max-steps", "lots"]).unwrap_err().to_string();
        assert!(
            error.contains("expected a whole number, got `lots`"),
            "{error}"
        );
        let error = parse(&["--g-weights", "w"]).unwrap_err().to_string();
        assert!(
            error.contains("expected `wv-wout`, `wvo-inout` or `wv-wout-raw`"),
            "{error}"
        );
        let out_of_range = parse(&["--lr", "-1"]).unwrap().resolve(Task::Reverse, 1);
        assert!(out_of_range.unwrap_err().contains("train.lr"));
    }

    #[test]
    fn unset_flags_keep_the_papers_config() {
        let args = parse(&[]).unwrap();
        assert_eq!(
            args.resolve(Task::Sort, 5).unwrap(),
            ExperimentConfig::new(Task::Sort, 5)
        );
        assert!(!args.positions_given());
        assert!(
            parse(&["--positions", "learned"])
                .unwrap()
                .positions_given()
        );
    }
}
