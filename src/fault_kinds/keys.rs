//! A kind's keys in a phase's `fault:` mapping: `fault_keys!` declares the
//! struct a kind reads (every key optional) and how its values are read,
//! from one list, so `FaultSpec` can read every kind's keys from one
//! mapping the way serde's derive would (each value read where it is
//! written, so a bad one is reported at its line and column).

use serde::de::MapAccess;

/// One kind's keys, as `fault_keys!` declares them.
pub trait Keys: Default {
    /// The keys, as written.
    const KEYS: &'static [&'static str];

    /// Whether any of them is set.
    fn is_set(&self) -> bool;

    /// Reads the value of `key` (one of `KEYS`) from `map`.
    fn read<'de, A: MapAccess<'de>>(&mut self, key: &str, map: &mut A) -> Result<(), A::Error>;
}

/// Declares a kind's keys struct (every key an `Option`) and its `Keys`.
macro_rules! fault_keys {
    ($(#[$doc:meta])* pub struct $name:ident {
        $($(#[$field_doc:meta])* $key:ident: $type:ty,)*
    }) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Default, PartialEq)]
        pub struct $name {
            $($(#[$field_doc])* pub $key: Option<$type>,)*
        }

        impl $crate::fault_kinds::Keys for $name {
            const KEYS: &'static [&'static str] = &[$(stringify!($key),)*];

            fn is_set(&self) -> bool {
                false $(|| self.$key.is_some())*
            }

            fn read<'de, A: serde::de::MapAccess<'de>>(
                &mut self,
                key: &str,
                map: &mut A,
            ) -> Result<(), A::Error> {
                $(if key == stringify!($key) {
                    self.$key = map.next_value::<Option<$type>>()?;
                    return Ok(());
                })*
                Err(serde::de::Error::unknown_field(key, Self::KEYS))
            }
        }
    };
}

pub(crate) use fault_keys;
