//! IP networks and sets of them: parsed from text, merged, sorted, searched by bisection.
//! `build.rs` compiles this file too, to embed the IP snapshots already parsed.

use std::borrow::Cow;
use std::net::IpAddr;
use std::str::FromStr;

/// An IPv4 or IPv6 network; IPv4 is held as IPv4-mapped IPv6 so one ordering covers both.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cidr {
    first: u128,
    last: u128,
}

fn to_u128(ip: IpAddr) -> u128 {
    match ip {
        IpAddr::V4(v4) => u128::from(v4.to_ipv6_mapped()),
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => u128::from(v4.to_ipv6_mapped()),
            None => u128::from(v6),
        },
    }
}

impl FromStr for Cidr {
    type Err = String;

    /// `10.0.0.0/8`, `2600:1f00::/24`, or a bare address (a /32 or /128).
    fn from_str(s: &str) -> Result<Cidr, String> {
        let s = s.trim();
        let (addr, len) = match s.split_once('/') {
            Some((a, l)) => (a, Some(l)),
            None => (s, None),
        };
        let ip: IpAddr = addr
            .parse()
            .map_err(|_| format!("{s:?} is not an IP address or CIDR"))?;
        let max = match ip {
            IpAddr::V4(_) => 32u32,
            IpAddr::V6(_) => 128,
        };
        let len: u32 = match len {
            None => max,
            Some(l) => l
                .parse()
                .ok()
                .filter(|n| *n <= max)
                .ok_or_else(|| format!("{s:?}: prefix length must be 0-{max}"))?,
        };
        let host_bits = max - len;
        let mask: u128 = if host_bits == 0 {
            0
        } else {
            (1u128 << host_bits) - 1
        };
        // IPv4 lives in the low 32 bits of the mapped form, so the mask never reaches ::ffff.
        let base = to_u128(ip);
        Ok(Cidr {
            first: base & !mask,
            last: base | mask,
        })
    }
}

/// A set of networks, merged and sorted for lookup.
#[derive(Debug, Clone, Default)]
pub struct CidrSet {
    /// The ranges as [`CidrSet::to_bytes`] writes them (first and last address, 16 bytes
    /// little-endian each), so the snapshots embedded in the binary are looked up where they
    /// are instead of being copied at every cold start.
    pub(super) ranges: Cow<'static, [u8]>,
}

const RANGE_BYTES: usize = 32;

impl CidrSet {
    pub fn new(cidrs: impl IntoIterator<Item = Cidr>) -> CidrSet {
        let mut v: Vec<(u128, u128)> = cidrs.into_iter().map(|c| (c.first, c.last)).collect();
        v.sort_unstable();
        let mut merged: Vec<(u128, u128)> = Vec::with_capacity(v.len());
        for (a, b) in v {
            match merged.last_mut() {
                Some(last) if a <= last.1.saturating_add(1) => last.1 = last.1.max(b),
                _ => merged.push((a, b)),
            }
        }
        let mut ranges = Vec::with_capacity(merged.len() * RANGE_BYTES);
        for (first, last) in &merged {
            ranges.extend_from_slice(&first.to_le_bytes());
            ranges.extend_from_slice(&last.to_le_bytes());
        }
        CidrSet {
            ranges: ranges.into(),
        }
    }

    /// One CIDR or address per line; `#` comments and blank lines ignored.
    pub fn parse_list(text: &str) -> Result<CidrSet, String> {
        let mut cidrs = Vec::new();
        for (i, line) in text.lines().enumerate() {
            let line = line.split('#').next().unwrap_or("").trim();
            if line.is_empty() {
                continue;
            }
            cidrs.push(
                line.parse::<Cidr>()
                    .map_err(|e| format!("line {}: {e}", i + 1))?,
            );
        }
        Ok(CidrSet::new(cidrs))
    }

    /// The merged ranges as bytes (each range's first and last address, 16 bytes each,
    /// little-endian): how `build.rs` embeds the snapshots, already parsed and sorted.
    pub fn to_bytes(&self) -> Vec<u8> {
        self.ranges.to_vec()
    }

    /// The set [`CidrSet::to_bytes`] wrote (borrowed when the bytes live as long as the
    /// program). A partial range at the end is ignored.
    pub fn from_bytes(bytes: impl Into<Cow<'static, [u8]>>) -> CidrSet {
        let mut ranges = bytes.into();
        let whole = ranges.len() / RANGE_BYTES * RANGE_BYTES;
        match &mut ranges {
            Cow::Borrowed(b) => *b = &b[..whole],
            Cow::Owned(v) => v.truncate(whole),
        }
        CidrSet { ranges }
    }

    /// Range `i`'s first (`half` 0) or last (`half` 1) address.
    pub(super) fn bound(&self, i: usize, half: usize) -> u128 {
        let at = i * RANGE_BYTES + half * 16;
        u128::from_le_bytes(self.ranges[at..at + 16].try_into().expect("16 bytes"))
    }

    pub fn contains(&self, ip: IpAddr) -> bool {
        let x = to_u128(ip);
        // The number of ranges starting at or before `x` (a partition point).
        let (mut lo, mut hi) = (0, self.len());
        while lo < hi {
            let mid = lo + (hi - lo) / 2;
            if self.bound(mid, 0) <= x {
                lo = mid + 1;
            } else {
                hi = mid;
            }
        }
        lo > 0 && self.bound(lo - 1, 1) >= x
    }

    pub fn len(&self) -> usize {
        self.ranges.len() / RANGE_BYTES
    }

    pub fn is_empty(&self) -> bool {
        self.ranges.is_empty()
    }
}
