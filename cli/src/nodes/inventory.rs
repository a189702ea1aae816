//! Inventory fields of paired nodes (issue #16): who approved each one and what it is for, as the
//! `nodes list` and `describe` tables show them, and `nodes set-description` that sets the latter.

use crate::args::ConnArgs;
use crate::client::read;
use crate::exit::Exit;
use crate::operator;
use clap::Args;
use pairing_core::Method;
use pairing_core::protocol::params::DescriptionParams;
use pairing_core::protocol::{NodeDescriptionSet, NodePaired};

/// Descriptions longer than this are cut (with `…`) in tables; `describe` and `--json` show them whole.
const TABLE_DESCRIPTION_CHARS: usize = 32;

/// Who approved a node, for a table cell beside APPROVED (which says how): `openclaw-cli@127.0.0.1`
/// for an operator connection (the role `operator` left out), the issuer of the setup code or key
/// that paired it, `-` when no person did (`local`, `import`: APPROVED says so) or nothing is known.
pub(super) fn approver(by: Option<&str>, via: Option<&str>) -> String {
    let who = by.map(|b| b.strip_prefix("operator ").unwrap_or(b));
    match who {
        Some(w) if Some(w) == via => "-".into(),
        Some(w) => match w.split_once(" issued by ") {
            Some((_, issuer)) => issuer.to_owned(),
            None => w.to_owned(),
        },
        None => "-".into(),
    }
}

/// A description cut to [`TABLE_DESCRIPTION_CHARS`] for a table cell; `-` for none.
pub(super) fn description_cell(d: Option<&str>) -> String {
    match d {
        None | Some("") => "-".into(),
        Some(d) if d.chars().count() > TABLE_DESCRIPTION_CHARS => {
            let cut: String = d.chars().take(TABLE_DESCRIPTION_CHARS - 1).collect();
            format!("{}…", cut.trim_end())
        }
        Some(d) => d.to_owned(),
    }
}

/// The `nodes list` paired-table columns this module adds: `BY` always, `DESCRIPTION` only when some
/// node has one (so a fleet nobody described stays as narrow as before).
pub(super) fn paired_headers(paired: &[NodePaired]) -> Vec<&'static str> {
    let mut h = vec!["BY"];
    if paired.iter().any(|p| p.description.is_some()) {
        h.push("DESCRIPTION");
    }
    h
}

/// The cells of [`paired_headers`] for one node.
pub(super) fn paired_cells(p: &NodePaired, headers: &[&str]) -> Vec<String> {
    let mut cells = vec![approver(
        p.approved_by.as_deref(),
        p.approved_via.as_deref(),
    )];
    if headers.contains(&"DESCRIPTION") {
        cells.push(description_cell(p.description.as_deref()));
    }
    cells
}

/// `nodes set-description`.
#[derive(Debug, Args)]
pub struct DescribeSetOpt {
    /// The node: id, IP, display name, or an id prefix of at least 6 characters.
    #[arg(value_name = "NODE", required_unless_present = "node")]
    pub target: Option<String>,
    /// The node, as a flag (the same as the positional NODE).
    #[arg(long, value_name = "Q", conflicts_with = "target")]
    pub node: Option<String>,
    /// What the node is for (at most 200 characters; no control or invisible characters).
    #[arg(value_name = "TEXT", required_unless_present = "clear")]
    pub text: Option<String>,
    /// Remove the description.
    #[arg(long, conflicts_with = "text")]
    pub clear: bool,
    /// Connection flags.
    #[command(flatten)]
    pub conn: ConnArgs,
}

/// Runs `nodes set-description`.
pub(super) async fn run(o: &DescribeSetOpt) -> anyhow::Result<Exit> {
    let query = o
        .target
        .as_deref()
        .or(o.node.as_deref())
        .unwrap_or_default();
    let text = if o.clear {
        None
    } else {
        let t = o.text.as_deref().unwrap_or_default().trim();
        if t.is_empty() {
            anyhow::bail!("the description must not be blank (use --clear to remove it)");
        }
        Some(t.to_owned())
    };
    let mut c = operator::connect(&o.conn).await?;
    let node = operator::resolve_node(&mut c, query).await?;
    let r = c
        .call(
            Method::NodeDescriptionSet,
            DescriptionParams {
                node_id: node.node_id.clone(),
                description: text,
            },
        )
        .await?;
    c.close().await;
    if o.conn.json {
        println!("{r}");
        return Ok(Exit::Ok);
    }
    let set: NodeDescriptionSet = read(&r)?;
    let name = node.display_name.as_deref().unwrap_or(&node.node_id);
    match set.description {
        Some(d) => println!("Described {name}: {d}"),
        None => println!("Cleared the description of {name}"),
    }
    Ok(Exit::Ok)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn approver_cells_drop_the_operator_role_and_repeat_nothing() {
        assert_eq!(
            approver(Some("operator openclaw-cli@127.0.0.1"), Some("owner")),
            "openclaw-cli@127.0.0.1"
        );
        // APPROVED already says `· local`; the cell does not repeat it.
        assert_eq!(approver(Some("local"), Some("local")), "-");
        assert_eq!(approver(None, Some("import")), "-");
        assert_eq!(approver(None, None), "-");
        assert_eq!(
            approver(
                Some("setup-code 3f9a2c1b issued by cli@127.0.0.1"),
                Some("setup-code")
            ),
            "cli@127.0.0.1"
        );
    }

    #[test]
    fn long_descriptions_are_cut_in_tables_only() {
        let long = "camera above the stove, watches the kettle and the oven";
        let cell = description_cell(Some(long));
        assert_eq!(cell.chars().count(), TABLE_DESCRIPTION_CHARS);
        assert!(cell.ends_with('…') && long.starts_with(cell.trim_end_matches('…')));
        assert_eq!(description_cell(Some("garage")), "garage");
        assert_eq!(description_cell(None), "-");
    }
}
