//! The arithmetic of the kernels' polynomial `erf` and `exp` ([`crate::engine::kernels`]), on one `f32`
//! or on four at once in the browser's SIMD128 registers.
//!
//! Natively the compiler vectorises the kernels' loops over `f32` by itself. The page's wasm is
//! optimised for size, and at that level the compiler vectorises no loop, so GELU (a tenth of a
//! browser training step when scalar) is written over [`Lanes`] and run on `F32x4` (four SIMD128 lanes) there.
//! Every operation is the IEEE operation of one lane, so four lanes give exactly the values of
//! four scalar calls (the browser tests check it bit for bit).

use std::ops::{Add, Div, Mul, Neg, Sub};

/// One or more `f32` lanes, each computed on alone.
pub trait Lanes:
    Copy
    + Add<Output = Self>
    + Sub<Output = Self>
    + Mul<Output = Self>
    + Div<Output = Self>
    + Neg<Output = Self>
{
    /// `value` in every lane.
    fn splat(value: f32) -> Self;
    /// `|x|`.
    fn abs(self) -> Self;
    /// `√x`, correctly rounded.
    fn sqrt(self) -> Self;
    /// The magnitude of `self` with the sign of `sign`.
    fn copysign(self, sign: Self) -> Self;
    /// `floor` where `self < floor`, else `self`: NaN stays NaN, unlike `max`.
    fn at_least(self, floor: f32) -> Self;
    /// `2ⁿ` where `self = n + 1.5·2²³` for an integer `n` (which sits in the low mantissa
    /// bits): `n + 127` written into the exponent bits, the bits' arithmetic wrapping.
    fn power_of_two(self) -> Self;
}

/// The bits of 1.5·2²³, the offset [`Lanes::power_of_two`] takes off.
const ROUNDING_OFFSET_BITS: u32 = 12_582_912f32.to_bits();

impl Lanes for f32 {
    #[inline(always)]
    fn splat(value: f32) -> Self {
        value
    }

    #[inline(always)]
    fn abs(self) -> Self {
        f32::abs(self)
    }

    #[inline(always)]
    fn sqrt(self) -> Self {
        f32::sqrt(self)
    }

    #[inline(always)]
    fn copysign(self, sign: Self) -> Self {
        f32::copysign(self, sign)
    }

    #[inline(always)]
    fn at_least(self, floor: f32) -> Self {
        if self < floor { floor } else { self }
    }

    #[inline(always)]
    fn power_of_two(self) -> Self {
        let exponent = self
            .to_bits()
            .wrapping_sub(ROUNDING_OFFSET_BITS)
            .wrapping_add(127);
        f32::from_bits(exponent << 23)
    }
}

#[cfg(target_arch = "wasm32")]
pub use simd128::F32x4;

#[cfg(target_arch = "wasm32")]
mod simd128 {
    use super::{Lanes, ROUNDING_OFFSET_BITS};
    use core::arch::wasm32::*;
    use std::ops::{Add, Div, Mul, Neg, Sub};

    /// Four `f32` lanes in one SIMD128 register.
    #[derive(Clone, Copy)]
    pub struct F32x4(v128);

    impl F32x4 {
        /// The four values of `values`, which holds exactly four.
        #[inline(always)]
        pub fn load(values: &[f32]) -> Self {
            assert_eq!(values.len(), 4, "four lanes");
            // SAFETY: `values` holds 16 readable bytes; SIMD128 loads need no alignment.
            Self(unsafe { v128_load(values.as_ptr().cast()) })
        }

        /// Writes the four lanes into `out`, which holds exactly four.
        #[inline(always)]
        pub fn store(self, out: &mut [f32]) {
            assert_eq!(out.len(), 4, "four lanes");
            // SAFETY: `out` holds 16 writable bytes; SIMD128 stores need no alignment.
            unsafe { v128_store(out.as_mut_ptr().cast(), self.0) }
        }

        /// The four values from `from` on.
        ///
        /// # Safety
        /// `from` points at four readable `f32`s.
        #[inline(always)]
        pub unsafe fn read(from: *const f32) -> Self {
            // SAFETY: the caller's promise; SIMD128 loads need no alignment.
            Self(unsafe { v128_load(from.cast()) })
        }

        /// Writes the four lanes from `to` on.
        ///
        /// # Safety
        /// `to` points at four writable `f32`s.
        #[inline(always)]
        pub unsafe fn put(self, to: *mut f32) {
            // SAFETY: the caller's promise; SIMD128 stores need no alignment.
            unsafe { v128_store(to.cast(), self.0) }
        }

        /// Writes the four lanes into `out`, which holds exactly four, written or not before.
        #[inline(always)]
        pub fn write(self, out: &mut [std::mem::MaybeUninit<f32>]) {
            assert_eq!(out.len(), 4, "four lanes");
            // SAFETY: `out` holds 16 writable bytes; SIMD128 stores need no alignment.
            unsafe { v128_store(out.as_mut_ptr().cast(), self.0) }
        }
    }

    macro_rules! lane_operator {
        ($trait:ident, $method:ident, $op:ident) => {
            impl $trait for F32x4 {
                type Output = Self;
                #[inline(always)]
                fn $method(self, other: Self) -> Self {
                    Self($op(self.0, other.0))
                }
            }
        };
    }

    lane_operator!(Add, add, f32x4_add);
    lane_operator!(Sub, sub, f32x4_sub);
    lane_operator!(Mul, mul, f32x4_mul);
    lane_operator!(Div, div, f32x4_div);

    impl Neg for F32x4 {
        type Output = Self;
        #[inline(always)]
        fn neg(self) -> Self {
            Self(f32x4_neg(self.0))
        }
    }

    impl Lanes for F32x4 {
        #[inline(always)]
        fn splat(value: f32) -> Self {
            Self(f32x4_splat(value))
        }

        #[inline(always)]
        fn abs(self) -> Self {
            Self(f32x4_abs(self.0))
        }

        #[inline(always)]
        fn sqrt(self) -> Self {
            Self(f32x4_sqrt(self.0))
        }

        #[inline(always)]
        fn copysign(self, sign: Self) -> Self {
            let sign_bit = u32x4_splat(0x8000_0000);
            Self(v128_bitselect(sign.0, self.0, sign_bit))
        }

        #[inline(always)]
        fn at_least(self, floor: f32) -> Self {
            let floor = f32x4_splat(floor);
            Self(v128_bitselect(floor, self.0, f32x4_lt(self.0, floor)))
        }

        #[inline(always)]
        fn power_of_two(self) -> Self {
            let exponent = i32x4_add(
                i32x4_sub(self.0, u32x4_splat(ROUNDING_OFFSET_BITS)),
                i32x4_splat(127),
            );
            Self(i32x4_shl(exponent, 23))
        }
    }
}
