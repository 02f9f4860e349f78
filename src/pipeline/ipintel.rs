//! What is known about a source IP: inside AWS's published EC2 ranges, inside the
//! operator's trusted CIDRs, or on an indicator list (Tor exit nodes, your own lists).
//! Lists are parsed once at cold start into sorted ranges and searched by bisection.

use std::net::IpAddr;
use std::str::FromStr;

/// A snapshot of AWS's EC2 prefixes from ip-ranges.json (see the file's header for its
/// source and how to refresh it).
pub const AWS_EC2_RANGES: &str = include_str!("../../data/aws-ec2-ranges.txt");
/// A snapshot of Tor exit node addresses (see the file's header).
pub const TOR_EXIT_NODES: &str = include_str!("../../data/tor-exit-nodes.txt");

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
    ranges: Vec<(u128, u128)>,
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

/// Everything the enrichment knows about addresses.
#[derive(Debug, Clone, Default)]
pub struct IpIntel {
    pub aws: CidrSet,
    pub trusted: CidrSet,
    /// (list name, addresses), checked in order.
    pub indicators: Vec<(String, CidrSet)>,
}

/// What [`IpIntel::lookup`] found.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct IpFacts {
    pub aws: bool,
    pub trusted: bool,
    pub indicator: Option<String>,
}

impl IpIntel {
    /// The embedded AWS and Tor snapshots plus the operator's trusted CIDRs.
    pub fn embedded(trusted: CidrSet) -> IpIntel {
        IpIntel {
            aws: CidrSet::parse_list(AWS_EC2_RANGES).expect("embedded AWS ranges parse"),
            trusted,
            indicators: vec![(
                "tor-exit".to_string(),
                CidrSet::parse_list(TOR_EXIT_NODES).expect("embedded Tor list parses"),
            )],
        }
    }

    pub fn lookup(&self, ip: &str) -> IpFacts {
        let Ok(addr) = ip.parse::<IpAddr>() else {
            return IpFacts::default();
        };
        IpFacts {
            aws: self.aws.contains(addr),
            trusted: self.trusted.contains(addr),
            indicator: self
                .indicators
                .iter()
                .find(|(_, set)| set.contains(addr))
                .map(|(name, _)| name.clone()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn cidr_sets_match_v4_and_v6_and_merge() {
        let set = CidrSet::parse_list(
            "# comment\n10.0.0.0/8\n10.1.0.0/16\n192.0.2.7\n2600:1f00::/24\n\n",
        )
        .unwrap();
        assert_eq!(set.len(), 3, "10.1/16 merges into 10/8");
        assert!(set.contains(ip("10.255.0.1")));
        assert!(!set.contains(ip("11.0.0.0")));
        assert!(set.contains(ip("192.0.2.7")));
        assert!(!set.contains(ip("192.0.2.8")));
        assert!(set.contains(ip("2600:1f00:1::1")));
        assert!(!set.contains(ip("2600:2000::1")));
        assert!(
            set.contains(ip("::ffff:10.1.2.3")),
            "v4-mapped v6 is the v4 address"
        );
        assert!(CidrSet::new([]).is_empty());
    }

    #[test]
    fn bad_lines_name_the_line() {
        assert_eq!(
            CidrSet::parse_list("10.0.0.0/8\nnope\n").unwrap_err(),
            "line 2: \"nope\" is not an IP address or CIDR"
        );
        assert!("10.0.0.0/33".parse::<Cidr>().is_err());
        assert_eq!("0.0.0.0/0".parse::<Cidr>().map(|_| ()), Ok(()));
    }

    #[test]
    fn embedded_snapshots_load() {
        let intel = IpIntel::embedded(CidrSet::parse_list("203.0.113.0/24").unwrap());
        assert!(!intel.aws.is_empty());
        assert!(intel.lookup("203.0.113.9").trusted);
        assert_eq!(intel.lookup("10.0.0.1"), IpFacts::default());
        assert_eq!(intel.lookup("not-an-ip"), IpFacts::default());
    }
}
