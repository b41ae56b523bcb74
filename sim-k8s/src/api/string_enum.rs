//! Enumerated string fields (`type: NodePort`, `protocol: TCP`) as typed Rust enums that still
//! accept any spelling: an unknown value decodes to `Unsupported(String)` so the API-server-style
//! validation can answer `Unsupported value: "Foo": supported values: ...` exactly like
//! `field.NotSupported` does, instead of a decoder error. Matching is case-sensitive, as in Go.

/// Declares a string enum with known variants, an `Unsupported(String)` catch-all, `as_str`,
/// `parse`, the sorted `SUPPORTED` list, `Display` and serde support.
#[macro_export]
macro_rules! string_enum {
    ($(#[$m:meta])* $name:ident { $($(#[$vm:meta])* $var:ident = $s:literal),+ $(,)? }) => {
        $(#[$m])*
        #[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub enum $name {
            $($(#[$vm])* #[doc = concat!("Wire spelling `", $s, "`.")] $var,)+
            /// A spelling the API server does not support; kept verbatim for the error message.
            Unsupported(String),
        }

        impl $name {
            /// The supported spellings, in declaration order.
            pub const SUPPORTED: &'static [&'static str] = &[$($s),+];

            /// The wire spelling.
            pub fn as_str(&self) -> &str {
                match self {
                    $(Self::$var => $s,)+
                    Self::Unsupported(s) => s,
                }
            }

            /// Parses a wire spelling; unknown spellings become `Unsupported`.
            pub fn parse(s: &str) -> Self {
                match s {
                    $($s => Self::$var,)+
                    other => Self::Unsupported(other.to_string()),
                }
            }

            /// True unless this is an `Unsupported` spelling.
            pub fn is_supported(&self) -> bool {
                !matches!(self, Self::Unsupported(_))
            }
        }

        impl ::std::fmt::Display for $name {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl ::serde::Serialize for $name {
            fn serialize<S: ::serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(self.as_str())
            }
        }

        impl<'de> ::serde::Deserialize<'de> for $name {
            fn deserialize<D: ::serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let s = <String as ::serde::Deserialize>::deserialize(d)?;
                Ok(Self::parse(&s))
            }
        }
    };
}

#[cfg(test)]
mod tests {
    string_enum! {
        /// Test enum.
        Colour { Red = "Red", Blue = "Blue" }
    }

    #[test]
    fn parse_round_trips_and_keeps_unknown() {
        assert_eq!(Colour::parse("Red"), Colour::Red);
        assert_eq!(Colour::parse("red"), Colour::Unsupported("red".into()));
        assert_eq!(Colour::parse("red").as_str(), "red");
        assert!(!Colour::parse("red").is_supported());
        assert_eq!(Colour::SUPPORTED, &["Red", "Blue"]);
        assert_eq!(serde_json::to_string(&Colour::Blue).unwrap_or_default(), "\"Blue\"");
    }
}
