//! Enums whose variants each have one name, as the command line, links and reports spell them.

/// Declares a fieldless enum whose variants are written `Variant = "name"`: a plain value
/// (`Clone`, `Copy`, `Debug`, equality, order and hash derived; more derives may be added), with
/// `ALL` (every variant, in the order written), `name()`, `Display` and `FromStr`, which refuses
/// an unknown name with the expected ones: ``unknown task `x`: expected `reverse` or `sort` ``.
/// The string after the enum's name says what a value is, for that message.
macro_rules! named_enum {
    (
        $(#[$meta:meta])*
        $vis:vis enum $enum:ident ($what:literal) {
            $($(#[$variant_meta:meta])* $variant:ident = $name:literal),+ $(,)?
        }
    ) => {
        $(#[$meta])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
        $vis enum $enum {
            $($(#[$variant_meta])* $variant),+
        }

        impl $enum {
            /// Every value, in the order declared.
            pub const ALL: [$enum; [$($name),+].len()] = [$($enum::$variant),+];

            /// The name the command line, links and reports use.
            pub fn name(self) -> &'static str {
                match self {
                    $($enum::$variant => $name),+
                }
            }
        }

        impl ::std::fmt::Display for $enum {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                f.write_str(self.name())
            }
        }

        impl ::std::str::FromStr for $enum {
            type Err = String;

            fn from_str(s: &str) -> Result<Self, Self::Err> {
                $enum::ALL.into_iter().find(|v| v.name() == s).ok_or_else(|| {
                    let names: Vec<String> =
                        $enum::ALL.iter().map(|v| format!("`{}`", v.name())).collect();
                    let expected = match names.split_last() {
                        Some((last, [])) => last.clone(),
                        Some((last, rest)) => format!("{} or {last}", rest.join(", ")),
                        None => String::new(),
                    };
                    format!("unknown {} `{s}`: expected {expected}", $what)
                })
            }
        }
    };
}

pub(crate) use named_enum;

#[cfg(test)]
mod tests {
    named_enum! {
        /// A test enum.
        enum Colour("colour") {
            /// Red.
            Red = "red",
            DarkBlue = "dark-blue",
            Green = "green",
        }
    }

    #[test]
    fn names_round_trip_and_unknown_ones_are_refused_with_the_expected() {
        assert_eq!(Colour::ALL, [Colour::Red, Colour::DarkBlue, Colour::Green]);
        for colour in Colour::ALL {
            assert_eq!(colour.to_string().parse::<Colour>(), Ok(colour));
        }
        assert_eq!(Colour::DarkBlue.to_string(), "dark-blue");
        assert_eq!(
            "blue".parse::<Colour>(),
            Err("unknown colour `blue`: expected `red`, `dark-blue` or `green`".to_string())
        );
    }
}
