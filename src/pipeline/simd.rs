//! Where the next byte a JSON string scan must stop at is: `"`, `\` or a control byte.
//!
//! The string scans — the envelope's `message` decode, the event index's string skip, the
//! archive's string writer — step through sixteen bytes at a time with [`Specials`]: SSE2
//! on x86-64 and NEON on arm64, both part of those targets' base instruction sets (no
//! run-time detection), byte by byte elsewhere. Strings in audit events are short and the
//! envelope has a `\"` every nine bytes or so, so what counts is the cost per stop, not the
//! bytes per second of a long run.
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

/// The positions in one step of the bytes that [`is_special`]: a bit mask with
/// [`Specials::BITS`] bits per byte (SSE2's `movemask` gives one; NEON has no `movemask`,
/// and narrowing each 16-bit lane by 4 bits gives four, all set for a hit).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Specials(u64);

impl Specials {
    const BITS: u32 = if cfg!(target_arch = "aarch64") { 4 } else { 1 };

    /// The stops in `chunk`: the three masks of [`StepBytes`] or-ed. The compiler ors the
    /// compares and narrows once (one `movemask` on x86-64, one `shrn` on arm64: checked in
    /// the assembly; the pipeline's instruction count is that of a mask of its own).
    #[inline(always)]
    pub fn of(chunk: &[u8; STEP]) -> Specials {
        StepBytes::of(chunk).specials()
    }

    /// The first stop, if any. (`None` is decided before any position is worked out: a
    /// scan's next step then does not wait for it.)
    #[inline(always)]
    pub fn first(self) -> Option<usize> {
        if self.0 == 0 {
            None
        } else {
            Some((self.0.trailing_zeros() / Specials::BITS) as usize)
        }
    }

    /// The stops after position `k` (those at `k` and before it dropped).
    #[inline(always)]
    pub fn after(self, k: usize) -> Specials {
        let dropped = (k as u32 + 1) * Specials::BITS;
        if dropped >= u64::BITS {
            Specials(0)
        } else {
            Specials(self.0 & (u64::MAX << dropped))
        }
    }
}

/// A step's backslashes, quotes and control bytes, as three masks laid out as
/// [`Specials`]' (the envelope decode, which needs to tell them apart).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct StepBytes {
    backslash: u64,
    quote: u64,
    control: u64,
}

impl StepBytes {
    /// The bits of a step's last byte.
    const LAST: u64 = ((1 << Specials::BITS) - 1) << ((STEP as u32 - 1) * Specials::BITS);

    #[inline(always)]
    pub fn of(chunk: &[u8; STEP]) -> StepBytes {
        #[cfg(target_arch = "x86_64")]
        {
            use core::arch::x86_64::*;
            // SAFETY: SSE2 is part of x86-64; the load reads exactly the 16 bytes of `chunk`.
            let [backslash, quote, control] = unsafe {
                let v = _mm_loadu_si128(chunk.as_ptr().cast());
                let quote = _mm_cmpeq_epi8(v, _mm_set1_epi8(b'"' as i8));
                let backslash = _mm_cmpeq_epi8(v, _mm_set1_epi8(b'\\' as i8));
                let control = _mm_cmpeq_epi8(_mm_min_epu8(v, _mm_set1_epi8(0x1f)), v);
                [backslash, quote, control].map(|m| _mm_movemask_epi8(m) as u32 as u64)
            };
            StepBytes {
                backslash,
                quote,
                control,
            }
        }
        #[cfg(target_arch = "aarch64")]
        {
            use core::arch::aarch64::*;
            // SAFETY: NEON is part of AArch64; the load reads exactly the 16 bytes of `chunk`.
            let [backslash, quote, control] = unsafe {
                let v = vld1q_u8(chunk.as_ptr());
                let quote = vceqq_u8(v, vdupq_n_u8(b'"'));
                let backslash = vceqq_u8(v, vdupq_n_u8(b'\\'));
                let control = vcltq_u8(v, vdupq_n_u8(0x20));
                [backslash, quote, control].map(|m| {
                    let narrowed = vshrn_n_u16::<4>(vreinterpretq_u16_u8(m));
                    vget_lane_u64::<0>(vreinterpret_u64_u8(narrowed))
                })
            };
            StepBytes {
                backslash,
                quote,
                control,
            }
        }
        #[cfg(not(any(target_arch = "x86_64", target_arch = "aarch64")))]
        {
            StepBytes::bytewise(chunk)
        }
    }

    /// [`StepBytes::of`] byte by byte: other targets' path.
    #[cfg_attr(any(target_arch = "x86_64", target_arch = "aarch64"), allow(dead_code))]
    fn bytewise(chunk: &[u8; STEP]) -> StepBytes {
        let mask = |hit: fn(u8) -> bool| {
            chunk.iter().enumerate().fold(0, |mask, (k, &c)| {
                mask | (u64::from(hit(c)) * ((1 << Specials::BITS) - 1))
                    << (k as u32 * Specials::BITS)
            })
        };
        StepBytes {
            backslash: mask(|c| c == b'\\'),
            quote: mask(|c| c == b'"'),
            control: mask(|c| c < 0x20),
        }
    }

    /// All of them: the step's [`Specials`].
    #[inline(always)]
    pub fn specials(self) -> Specials {
        Specials(self.backslash | self.quote | self.control)
    }

    /// The backslashes, when each escapes the quote right after it and they are the step's
    /// only stops: no other quote, no control byte, no backslash as the last byte (its
    /// quote would be in the next step). Dropping them decodes the step. That is how most
    /// steps of a CloudWatch `message` look: the JSON of an audit event, every quote of
    /// it escaped.
    #[inline(always)]
    pub fn only_escaped_quotes(self) -> Option<Specials> {
        let simple = self.control == 0
            && self.backslash & StepBytes::LAST == 0
            && self.backslash << Specials::BITS == self.quote;
        simple.then_some(Specials(self.backslash))
    }
}

/// The position of the first byte of `chunk` that [`is_special`], if any.
#[inline(always)]
pub fn first_special(chunk: &[u8; STEP]) -> Option<usize> {
    Specials::of(chunk).first()
}

/// Past the whole steps of `b` from `i` that hold no stop: the index of the first stop in
/// a step, or where the tail shorter than a step starts (which the caller reads byte by
/// byte: in the event index that is the end of the event, once per event).
#[inline(always)]
pub fn skip_plain(b: &[u8], mut i: usize) -> usize {
    while let Some(chunk) = b.get(i..i + STEP) {
        match first_special(chunk.try_into().expect("a step")) {
            None => i += STEP,
            Some(k) => return i + k,
        }
    }
    i
}

/// The index of the first stop in `b` from `i`, or `b.len()` when there is none: the tail
/// shorter than a step is copied into a step of plain bytes and scanned the same way. The
/// archive writes many strings of a dozen bytes or so, which a byte-by-byte tail made cost
/// several times their whole steps. (The index's string skip keeps [`skip_plain`]: the
/// tail's branch and call there gave every string it skips a costlier entry.)
#[inline(always)]
pub fn find_stop(b: &[u8], i: usize) -> usize {
    let i = skip_plain(b, i);
    // Stopped at a stop, or at the tail (perhaps empty).
    match b.len() - i {
        1..STEP => tail_stop(b, i),
        _ => i,
    }
}

/// [`find_stop`] in the last bytes, fewer than a step.
#[inline(never)]
fn tail_stop(b: &[u8], i: usize) -> usize {
    let tail = &b[i..];
    let mut padded = [b'a'; STEP];
    padded[..tail.len()].copy_from_slice(tail);
    match first_special(&padded) {
        Some(k) => i + k,
        None => b.len(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every stop of `chunk`, in order, read with `first` and `after` as the scans do.
    fn stops(mut m: Specials) -> Vec<usize> {
        let mut out = Vec::new();
        while let Some(k) = m.first() {
            out.push(k);
            m = m.after(k);
        }
        out
    }

    fn check(chunk: &[u8; STEP]) {
        let want: Vec<usize> = (0..STEP).filter(|&k| is_special(chunk[k])).collect();
        assert_eq!(first_special(chunk), want.first().copied(), "{chunk:?}");
        assert_eq!(stops(Specials::of(chunk)), want, "{chunk:?}");
        assert_eq!(
            stops(StepBytes::bytewise(chunk).specials()),
            want,
            "{chunk:?}"
        );
        // Dropping through any position leaves the stops after it.
        for k in 0..STEP + 2 {
            let later: Vec<usize> = want.iter().copied().filter(|&w| w > k).collect();
            assert_eq!(
                stops(Specials::of(chunk).after(k)),
                later,
                "{chunk:?} after {k}"
            );
        }
    }

    /// The three masks against a byte-by-byte reading, and when a step counts as only
    /// escaped quotes.
    fn check_step_bytes(chunk: &[u8; STEP]) {
        let m = StepBytes::of(chunk);
        assert_eq!(m, StepBytes::bytewise(chunk), "{chunk:?}");
        assert_eq!(m.specials(), Specials::of(chunk), "{chunk:?}");
        let escapes: Vec<usize> = (0..STEP).filter(|&k| chunk[k] == b'\\').collect();
        let simple = escapes.iter().all(|&k| chunk.get(k + 1) == Some(&b'"'))
            && (0..STEP).all(|k| match chunk[k] {
                b'"' => k > 0 && chunk[k - 1] == b'\\',
                b'\\' => true,
                c => c >= 0x20,
            });
        match m.only_escaped_quotes() {
            Some(backslashes) => {
                assert!(simple, "{chunk:?}");
                assert_eq!(stops(backslashes), escapes, "{chunk:?}");
            }
            None => assert!(!simple, "{chunk:?}"),
        }
    }

    #[test]
    fn step_bytes_tell_escaped_quotes_from_other_stops() {
        let background = *b"abcdefghijklmnop";
        check_step_bytes(&background);
        for at in 0..STEP {
            for c in 0..=255u8 {
                let mut chunk = background;
                chunk[at] = c;
                check_step_bytes(&chunk);
            }
            // An escaped quote at `at`, and with every byte value after it.
            let mut chunk = background;
            chunk[at] = b'\\';
            check_step_bytes(&chunk);
            if at + 1 < STEP {
                chunk[at + 1] = b'"';
                check_step_bytes(&chunk);
                for later in at + 2..STEP {
                    for c in [b'"', b'\\', 0x00, 0x1f, b'n', b'u'] {
                        let mut more = chunk;
                        more[later] = c;
                        check_step_bytes(&more);
                    }
                }
            }
        }
        // Steps of escaped quotes only, packed as tightly as they go.
        assert!(
            StepBytes::of(b"\\\"\\\"\\\"\\\"\\\"\\\"\\\"\\\"")
                .only_escaped_quotes()
                .is_some()
        );
        assert!(
            StepBytes::of(b"a\\\"\\\"\\\"\\\"\\\"\\\"\\\"\\")
                .only_escaped_quotes()
                .is_none()
        );
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

    /// `skip_plain` stops at the first stop, or where fewer than a step's bytes are left;
    /// `find_stop` at the first stop, in a whole step or in the tail, else at the end.
    #[test]
    fn skip_plain_and_find_stop_stop_at_the_first_stop() {
        let text = b"0123456789abcdefghijklmnopqrstuvwxyz0123456789";
        let whole_steps = |from: usize| from + (text.len() - from) / STEP * STEP;
        for from in 0..=text.len() {
            assert_eq!(skip_plain(text, from), whole_steps(from), "{from}");
            assert_eq!(find_stop(text, from), text.len(), "{from}");
        }
        for at in 0..text.len() {
            for stop in [b'"', b'\\', 0x00, 0x1f] {
                let mut t = *text;
                t[at] = stop;
                for from in 0..=text.len() {
                    let found = if from <= at { at } else { text.len() };
                    assert_eq!(find_stop(&t, from), found, "{at} {from} {stop}");
                    let skipped = if from <= at && at < whole_steps(from) {
                        at
                    } else {
                        whole_steps(from)
                    };
                    assert_eq!(skip_plain(&t, from), skipped, "{at} {from} {stop}");
                }
            }
        }
        assert_eq!(find_stop(b"", 0), 0);
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
            check_step_bytes(&chunk);
        }
    }
}
