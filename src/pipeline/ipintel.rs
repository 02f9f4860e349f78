//! What is known about a source IP: inside AWS's published EC2 ranges, inside the
//! operator's trusted CIDRs, or on an indicator list (Tor exit nodes, your own lists).
//! Lists are sorted, merged ranges searched by bisection: the embedded snapshots parsed
//! at build time (`build.rs`, with the same parser), the operator's at cold start.

use std::net::IpAddr;

pub use super::cidr::{Cidr, CidrSet};

/// A snapshot of AWS's EC2 prefixes from ip-ranges.json (`data/aws-ec2-ranges.txt`: see its
/// header for its source and how to refresh it), as `build.rs` parsed it
/// ([`CidrSet::to_bytes`]).
const AWS_EC2_RANGES_PARSED: &[u8] =
    include_bytes!(concat!(env!("OUT_DIR"), "/aws-ec2-ranges.bin"));
/// A snapshot of Tor exit node addresses (`data/tor-exit-nodes.txt`), likewise.
const TOR_EXIT_NODES_PARSED: &[u8] =
    include_bytes!(concat!(env!("OUT_DIR"), "/tor-exit-nodes.bin"));

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
    /// The embedded AWS and Tor snapshots plus the operator's trusted CIDRs. The snapshots
    /// were parsed and merged by `build.rs` (parsing 5,800 lines was 5 % of the cold start).
    pub fn embedded(trusted: CidrSet) -> IpIntel {
        IpIntel {
            aws: CidrSet::from_bytes(AWS_EC2_RANGES_PARSED),
            trusted,
            indicators: vec![(
                "tor-exit".to_string(),
                CidrSet::from_bytes(TOR_EXIT_NODES_PARSED),
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

    /// The lookup in the embedded bytes agrees with a scan of every range, at each range's
    /// ends and just outside them.
    #[test]
    fn lookup_at_every_range_boundary() {
        let intel = IpIntel::embedded(CidrSet::default());
        let set = &intel.aws;
        let ranges: Vec<(u128, u128)> = (0..set.len())
            .map(|i| (set.bound(i, 0), set.bound(i, 1)))
            .collect();
        assert!(
            ranges.windows(2).all(|w| w[0].1 < w[1].0),
            "sorted, disjoint"
        );
        let scan = |x: u128| ranges.iter().any(|&(a, b)| a <= x && x <= b);
        for &(a, b) in &ranges {
            for x in [a.wrapping_sub(1), a, b, b.wrapping_add(1)] {
                let addr = IpAddr::V6(std::net::Ipv6Addr::from(x));
                assert_eq!(set.contains(addr), scan(x), "{addr}");
            }
        }
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

    /// What `build.rs` embedded is the text snapshots, parsed as at run time.
    #[test]
    fn the_embedded_ranges_are_the_parsed_snapshots() {
        let intel = IpIntel::embedded(CidrSet::default());
        let aws = CidrSet::parse_list(include_str!("../../data/aws-ec2-ranges.txt")).unwrap();
        let tor = CidrSet::parse_list(include_str!("../../data/tor-exit-nodes.txt")).unwrap();
        assert!(
            aws.len() > 1000 && tor.len() > 500,
            "{} {}",
            aws.len(),
            tor.len()
        );
        assert_eq!(intel.aws.ranges, aws.ranges);
        assert_eq!(intel.indicators[0].1.ranges, tor.ranges);
        assert_eq!(CidrSet::from_bytes(aws.to_bytes()).ranges, aws.ranges);
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
