//! Go's `text/tabwriter` elastic tabstops, as kubectl uses them: cells are `\t`-terminated,
//! a column's width is the widest cell of its *column block* (consecutive lines that have that
//! column) plus padding, at least `minwidth`; the last cell of a line is never padded, so there
//! are no trailing spaces after it. Padding is with spaces (`padchar ' '`), so `tabwidth` does not
//! matter. Reference: golang/go src/text/tabwriter/tabwriter.go (`format`, `writeLines`).
//! Presets: [`TabWriter::table`] = kubectl's printers (minwidth 6, padding 3) and
//! [`TabWriter::describe`] = the describers (minwidth 0, padding 2).
//! Left out: AlignRight, DiscardEmptyColumns, escapes, the Debug flag; widths count chars.

/// A tabwriter configuration.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TabWriter {
    /// Minimal cell width including padding.
    pub minwidth: usize,
    /// Padding added to the widest cell.
    pub padding: usize,
}

impl TabWriter {
    /// kubectl `get` tables: `tabwriter.NewWriter(out, 6, 4, 3, ' ', 0)`.
    pub const fn table() -> Self {
        TabWriter { minwidth: 6, padding: 3 }
    }

    /// kubectl `describe`: `tabwriter.NewWriter(out, 0, 8, 2, ' ', 0)`.
    pub const fn describe() -> Self {
        TabWriter { minwidth: 0, padding: 2 }
    }

    /// Formats `text` (lines separated by `\n`, cells by `\t`).
    pub fn format(&self, text: &str) -> String {
        let trailing_newline = text.ends_with('\n');
        let body = text.strip_suffix('\n').unwrap_or(text);
        let lines: Vec<Vec<&str>> = body.split('\n').map(|l| l.split('\t').collect()).collect();
        let mut widths = Vec::new();
        let mut out = String::new();
        self.format_block(&lines, 0, lines.len(), &mut widths, &mut out);
        if !trailing_newline {
            out.pop();
        }
        out
    }

    fn format_block(
        &self,
        lines: &[Vec<&str>],
        line0: usize,
        line1: usize,
        widths: &mut Vec<usize>,
        out: &mut String,
    ) {
        let column = widths.len();
        let mut start = line0;
        let mut this = line0;
        while this < line1 {
            // Cells other than the last one of a line are tab-terminated and take part.
            if column + 1 >= lines[this].len() {
                this += 1;
                continue;
            }
            self.write_lines(lines, start, this, widths, out);
            start = this;
            let mut width = self.minwidth;
            while this < line1 && column + 1 < lines[this].len() {
                width = width.max(lines[this][column].chars().count() + self.padding);
                this += 1;
            }
            widths.push(width);
            self.format_block(lines, start, this, widths, out);
            widths.pop();
            start = this;
        }
        self.write_lines(lines, start, line1, widths, out);
    }

    fn write_lines(&self, lines: &[Vec<&str>], from: usize, to: usize, widths: &[usize], out: &mut String) {
        for line in &lines[from..to] {
            for (j, cell) in line.iter().enumerate() {
                out.push_str(cell);
                if j + 1 < line.len() {
                    let w = widths.get(j).copied().unwrap_or(0);
                    for _ in cell.chars().count()..w {
                        out.push(' ');
                    }
                }
            }
            out.push('\n');
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kubectl_get_svc_rows() {
        // formats.md §1.7 (kube-dns row matches a real capture).
        let t = TabWriter::table().format(
            "NAME\tTYPE\tCLUSTER-IP\tEXTERNAL-IP\tPORT(S)\tAGE\nkube-dns\tClusterIP\t10.96.0.10\t<none>\t53/UDP,53/TCP,9153/TCP\t44m\n",
        );
        assert_eq!(
            t,
            "NAME       TYPE        CLUSTER-IP   EXTERNAL-IP   PORT(S)                  AGE\n\
             kube-dns   ClusterIP   10.96.0.10   <none>        53/UDP,53/TCP,9153/TCP   44m\n"
        );
    }

    #[test]
    fn column_blocks_are_independent() {
        // Column 0 spans all three lines; column 1 is a separate block on each line that
        // has a third cell, because the TargetPort line in between ends at column 1.
        let t = TabWriter::describe()
            .format("Port:\tp\t80/TCP\nTargetPort:\t8080/TCP\nNodePort:\tlonger-name\t30000/TCP\n");
        assert_eq!(t, "Port:        p  80/TCP\nTargetPort:  8080/TCP\nNodePort:    longer-name  30000/TCP\n");
    }

    #[test]
    fn one_cell_lines_break_blocks() {
        let t = TabWriter::describe().format("a:\tx\nEvents:\nlonglonglong:\ty\n");
        assert_eq!(t, "a:  x\nEvents:\nlonglonglong:  y\n");
    }
}
