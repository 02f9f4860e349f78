//! Where the next byte a JSON string scan must stop at is: `"`, `\` or a control byte.
//!
//! Both string scans — the envelope's `message` decode and the event index's string skip —
//! step through sixteen bytes at a time with [`first_special`]: SSE2 on x86-64 and NEON on
//! arm64, both part of those targets' base instruction sets (no run-time detection), and
//! two eight-byte words of bit arithmetic elsewhere. Strings in audit events are short and
//! the envelope has a `\"` every nine bytes or so, so what counts is the cost of finding
//! one stop, not the bytes per second of a long run.
//!
//! This file uses nothing outside `core`, so `make test-arm64` compiles it alone for
//! aarch64 and runs its tests under qemu: the NEON path is tested without an arm64 machine.

/// The bytes [`first_special`] looks at.
pub const STEP: usize = 16;

/// Whether a string scan must stop at `c`.
#[inline(always)]
pub fn is_special(c: u8) -> bool {
    c == b'"' || c == b'\\' || c < 0x20
}

/// The position of the first byte of `chunk` that [`is_special`], if any. (`None` is
/// decided before any position is worked out: a scan's next step then does not wait for
/// it.)
#[inline(always)]
pub fn first_special(chunk: &[u8; STEP]) -> Option<usize> {
    #[cfg(target_arch = "x86_64")]
    {
        use core::arch::x86_64::*;
        // SAFETY: SSE2 is part of x86-64; the load reads exactly the 16 bytes of `chunk`.
        let mask = unsafe {
            let v = _mm_loadu_si128(chunk.as_ptr().cast());
            let quote = _mm_cmpeq_epi8(v, _mm_set1_epi8(b'"' as i8));
            let backslash = _mm_cmpeq_epi8(v, _mm_set1_epi8(b'\\' as i8));
            // v <= 0x1f (unsigned) exactly when min(v, 0x1f) == v.
            let control = _mm_cmpeq_epi8(_mm_min_epu8(v, _mm_set1_epi8(0x1f)), v);
            _mm_movemask_epi8(_mm_or_si128(_mm_or_si128(quote, backslash), control)) as u32
        };
        if mask == 0 {
            None
        } else {
            Some(mask.trailing_zeros() as usize)
        }
    }
    #[cfg(target_arch = "aarch64")]
    {
        use core::arch::aarch64::*;
        // SAFETY: NEON is part of AArch64; the load reads exactly the 16 bytes of `chunk`.
        let nibbles = unsafe {
            let v = vld1q_u8(chunk.as_ptr());
            let quote = vceqq_u8(v, vdupq_n_u8(b'"'));
            let backslash = vceqq_u8(v, vdupq_n_u8(b'\\'));
            let control = vcltq_u8(v, vdupq_n_u8(0x20));
            let hit = vorrq_u8(vorrq_u8(quote, backslash), control);
            // NEON has no movemask: narrowing each 16-bit lane by 4 bits leaves four bits
            // per byte, all set for a hit, in one 64-bit word.
            let narrowed = vshrn_n_u16::<4>(vreinterpretq_u16_u8(hit));
            vget_lane_u64::<0>(vreinterpret_u64_u8(narrowed))
        };
        if nibbles == 0 {
            None
        } else {
            Some((nibbles.trailing_zeros() / 4) as usize)
        }
    }
    #[cfg(not(any(target_arch = "x86_64", target_arch = "aarch64")))]
    {
        first_special_words(chunk)
    }
}

/// [`first_special`] with two eight-byte words of bit arithmetic: other targets' path.
#[cfg_attr(any(target_arch = "x86_64", target_arch = "aarch64"), allow(dead_code))]
pub fn first_special_words(chunk: &[u8; STEP]) -> Option<usize> {
    let (lo, hi) = chunk.split_at(STEP / 2);
    let word = |w: &[u8]| special_bytes(u64::from_le_bytes(w.try_into().expect("8 bytes")));
    match (word(lo), word(hi)) {
        (0, 0) => None,
        (0, h) => Some(STEP / 2 + (h.trailing_zeros() / 8) as usize),
        (l, _) => Some((l.trailing_zeros() / 8) as usize),
    }
}

/// A mask with the high bit set in the lowest byte of `word` that [`is_special`] (and
/// possibly in higher bytes too: only the lowest flag is exact, and only it is used).
fn special_bytes(word: u64) -> u64 {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGH: u64 = 0x8080_8080_8080_8080;
    let zero_at = |v: u64| v.wrapping_sub(ONES) & !v & HIGH;
    let quote = zero_at(word ^ (ONES * b'"' as u64));
    let backslash = zero_at(word ^ (ONES * b'\\' as u64));
    let control = word.wrapping_sub(ONES * 0x20) & !word & HIGH;
    quote | backslash | control
}

#[cfg(test)]
mod tests {
    use super::*;

    fn by_definition(chunk: &[u8; STEP]) -> Option<usize> {
        chunk.iter().position(|&c| is_special(c))
    }

    fn check(chunk: &[u8; STEP]) {
        let want = by_definition(chunk);
        assert_eq!(first_special(chunk), want, "{chunk:?}");
        assert_eq!(first_special_words(chunk), want, "{chunk:?}");
    }

    /// Every byte value at every position, on backgrounds of plain bytes, of bytes with the
    /// high bit set (UTF-8) and just above and below the control range.
    #[test]
    fn every_byte_at_every_position() {
        for background in [b'a', 0x20, 0x7f, 0x80, 0xe2, 0xff, b'!', b'#', b'[', b']'] {
            assert_eq!(first_special(&[background; STEP]), None, "{background:#x}");
            for at in 0..STEP {
                for c in 0..=255u8 {
                    let mut chunk = [background; STEP];
                    chunk[at] = c;
                    check(&chunk);
                }
            }
        }
    }

    /// The first of several stops is reported, whatever comes after it.
    #[test]
    fn the_first_of_several_stops() {
        let stops = [b'"', b'\\', 0x00, 0x1f, b'\n'];
        for first in 0..STEP {
            for later in first + 1..STEP {
                for &a in &stops {
                    for &b in &stops {
                        let mut chunk = *b"abcdefghijklmnop";
                        chunk[first] = a;
                        chunk[later] = b;
                        check(&chunk);
                    }
                }
            }
        }
    }

    /// Random chunks, biased towards the bytes that matter.
    #[test]
    fn random_chunks() {
        let mut state = 0x9e37_79b9_7f4a_7c15u64;
        let mut next = || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        let pool = [
            b'"', b'\\', 0x00, 0x1f, 0x20, 0x21, 0x5b, 0x5d, 0x7f, 0x80, 0xff,
        ];
        for _ in 0..200_000 {
            let mut chunk = [0u8; STEP];
            for c in &mut chunk {
                let r = next();
                *c = if r % 4 == 0 {
                    pool[(r >> 8) as usize % pool.len()]
                } else {
                    0x20 + (r >> 16) as u8 % 0x60
                };
            }
            check(&chunk);
        }
    }
}
