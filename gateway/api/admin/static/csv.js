// CSV for the mapping tables (RFC 4180: comma, double quotes doubled, CRLF): what a
// spreadsheet writes and reads, so a table can be exported, edited there and imported back.

const needsQuotes = /[",\r\n]|^\s|\s$/;

/** rows (arrays of strings) -> CSV text. */
export function toCsv(rows) {
  return rows.map((row) => row.map((cell) => {
    const text = cell === null || cell === undefined ? "" : String(cell);
    return needsQuotes.test(text) ? `"${text.replaceAll('"', '""')}"` : text;
  }).join(",")).join("\r\n") + "\r\n";
}

/** CSV text -> rows (arrays of strings). Throws with the line number on an unclosed quote. */
export function parseCsv(text) {
  const rows = [];
  let row = [], cell = "", quoted = false, line = 1, start = 1;
  const src = text.replace(/^\uFEFF/, ""); // a spreadsheet's byte-order mark
  for (let i = 0; i < src.length; i++) {
    const c = src[i];
    if (quoted) {
      if (c === '"' && src[i + 1] === '"') { cell += '"'; i++; }
      else if (c === '"') quoted = false;
      else { if (c === "\n") line++; cell += c; }
      continue;
    }
    if (c === '"' && cell === "") { quoted = true; start = line; }
    else if (c === ",") { row.push(cell); cell = ""; }
    else if (c === "\n" || c === "\r") {
      if (c === "\r" && src[i + 1] === "\n") i++;
      row.push(cell); rows.push(row); row = []; cell = ""; line++;
    } else cell += c;
  }
  if (quoted) throw new Error(`line ${start}: a quoted cell is never closed`);
  if (cell !== "" || row.length) { row.push(cell); rows.push(row); }
  return rows.filter((r) => r.some((c) => c !== ""));
}
