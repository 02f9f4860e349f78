//! IP networks and sets of them: parsed from text, merged, sorted, searched by bisection.
//! `build.rs` compiles this file too, to embed the IP snapshots already parsed.

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
    pub(super) ranges: Vec<(u128, u128)>,
}

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
        CidrSet { ranges: merged }
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
        let mut out = Vec::with_capacity(self.ranges.len() * 32);
        for (first, last) in &self.ranges {
            out.extend_from_slice(&first.to_le_bytes());
            out.extend_from_slice(&last.to_le_bytes());
        }
        out
    }

    /// The set [`CidrSet::to_bytes`] wrote.
    pub fn from_bytes(bytes: &[u8]) -> CidrSet {
        let word = |b: &[u8]| u128::from_le_bytes(b.try_into().expect("16 bytes"));
        CidrSet {
            ranges: bytes
                .chunks_exact(32)
                .map(|r| (word(&r[..16]), word(&r[16..])))
                .collect(),
        }
    }

    pub fn contains(&self, ip: IpAddr) -> bool {
        let x = to_u128(ip);
        let i = self.ranges.partition_point(|(a, _)| *a <= x);
        i > 0 && self.ranges[i - 1].1 >= x
    }

    pub fn len(&self) -> usize {
        self.ranges.len()
    }

    pub fn is_empty(&self) -> bool {
        self.ranges.is_empty()
    }
}
