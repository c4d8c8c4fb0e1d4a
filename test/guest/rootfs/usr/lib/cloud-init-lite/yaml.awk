# yaml.awk: flattens the YAML that cloud-init data is written in (and JSON, which
# is YAML's flow style) into one line per scalar, "PATH<TAB>VALUE", for busybox sh
# to read with `read`. PATH joins map keys and list indexes with "/"
# (write_files/0/path, network/ethernets/eth0/addresses/0); VALUE has "\" written
# as "\\", newline as "\n" and tab as "\t" (printf %b undoes it). An empty or null
# value gives an empty VALUE; empty collections give no line.
#
# The subset: block maps and lists (a list may sit at its key's indentation),
# "- key: v" items, flow collections over several lines, plain, 'single' and
# "double" quoted scalars (JSON escapes), plain scalars continued on more indented
# lines, |, |-, |+ and > block scalars, comments, "---". Not: anchors and aliases,
# tags (dropped), complex keys, multi-line quoted scalars, several documents.

BEGIN { sp = 0; pend = 0; blk = 0; flow = 0; hold = 0 }

{
	sub(/\r$/, "")
	if (blk && block_line($0)) next
	if (flow) {
		fbuf = fbuf "\n" strip_comment($0)
		if (balanced(fbuf)) { flow = 0; flow_parse(fpath, fbuf) }
		next
	}
	if ($0 ~ /^[ \t]*(#.*)?$/) next
	if ($0 ~ /^(---|\.\.\.)[ \t]*$/) next
	line = $0
	sub(/^--- +/, "", line)
	match(line, /^ */)
	ind = RLENGTH
	c = strip_comment(substr(line, ind + 1))
	sub(/[ \t]+$/, "", c)
	if (c == "") next
	node(ind, c)
}

END {
	if (blk) end_block()
	if (flow) flow_parse(fpath, fbuf)
	if (pend) emit(ppath, "")
	flush()
}

function join(p, k) { return p == "" ? k : p "/" k }

function emit(p, v,    n, a, i, out) {
	# Encode by split and join: gsub's replacement escapes differ between awks.
	n = split(v, a, "\\"); out = a[1]; for (i = 2; i <= n; i++) out = out "\\\\" a[i]; v = out
	n = split(v, a, "\n"); out = a[1]; for (i = 2; i <= n; i++) out = out "\\n" a[i]; v = out
	n = split(v, a, "\t"); out = a[1]; for (i = 2; i <= n; i++) out = out "\\t" a[i]
	print p "\t" out
}

# A plain scalar is held back: more indented lines may continue it.
function flush() { if (hold) { hold = 0; emit(hpath, hval) } }

function push(t, i, p) { sp++; styp[sp] = t; sind[sp] = i; spath[sp] = p; scnt[sp] = 0 }

function isdash(s) { return s == "-" || substr(s, 1, 2) == "- " }

# iskey(S): S is "key: value" or "key:"; sets KEY and VAL.
function iskey(s,    q, i, rest) {
	q = substr(s, 1, 1)
	if (q == "\"" || q == "'") {
		i = quoted_end(s, 1)
		if (i == 0) return 0
		rest = substr(s, i + 1)
		if (rest !~ /^[ \t]*:([ \t]|$)/) return 0
		KEY = unquote(substr(s, 1, i))
		sub(/^[ \t]*:[ \t]*/, "", rest)
		VAL = rest
		return 1
	}
	if (q == "[" || q == "{" || q == "|" || q == ">" || isdash(s)) return 0
	if (s ~ /:$/) { i = length(s) } else { i = index(s, ": "); if (i == 0) return 0 }
	KEY = substr(s, 1, i - 1)
	sub(/[ \t]+$/, "", KEY)
	VAL = substr(s, i + 1)
	sub(/^[ \t]+/, "", VAL)
	return 1
}

function node(ind, c,    p, rest, off) {
	if (pend) {
		pend = 0
		if (isdash(c) && ind >= pseq) push("seq", ind, ppath)
		else if (!isdash(c) && ind >= pmap && iskey(c)) push("map", ind, ppath)
		else emit(ppath, "")
	}
	if (hold && ind > hind && !isdash(c)) { hval = hval " " c; return }
	flush()
	while (sp > 0 && (ind < sind[sp] || (ind == sind[sp] && styp[sp] == "seq" && !isdash(c)))) sp--
	if (sp == 0) {
		if (substr(c, 1, 1) == "[" || substr(c, 1, 1) == "{") { value("", c, -1); return }
		push(isdash(c) ? "seq" : "map", ind, "")
	}
	if (ind > sind[sp]) return # stray line (bad indentation): ignored
	if (isdash(c)) {
		if (styp[sp] != "seq") return
		p = join(spath[sp], scnt[sp]++)
		rest = substr(c, 2)
		match(rest, /^ */)
		off = 1 + RLENGTH
		rest = substr(rest, RLENGTH + 1)
		if (rest == "") { pend = 1; ppath = p; pseq = ind + 1; pmap = ind + 1; return }
		if (isdash(rest)) { push("seq", ind + off, p); node(ind + off, rest); return }
		if (iskey(rest)) { push("map", ind + off, p); node(ind + off, rest); return }
		value(p, rest, ind)
		return
	}
	if (styp[sp] != "map" || !iskey(c)) return
	p = join(spath[sp], KEY)
	if (VAL == "") { pend = 1; ppath = p; pseq = ind; pmap = ind + 1; return }
	value(p, VAL, ind)
}

# value(PATH, TEXT, IND): the value of a key or item whose line is indented IND.
function value(p, v, ind,    q, i) {
	# Tags (!!str, !!binary) and anchors are dropped.
	while (v ~ /^[!&][^ ]* +/) sub(/^[!&][^ ]* +/, "", v)
	q = substr(v, 1, 1)
	if (q == "|" || q == ">") {
		blk = 1; bpath = p; bstyle = q; bparent = ind; bn = 0
		bchomp = v ~ /^.[^ ]*-/ ? "-" : v ~ /^.[^ ]*\+/ ? "+" : ""
		bind = match(v, /^.[-+]?[1-9]/) ? (ind < 0 ? 0 : ind) + substr(v, RLENGTH, 1) : -1
		return
	}
	if (q == "[" || q == "{") {
		if (balanced(v)) flow_parse(p, v)
		else { flow = 1; fpath = p; fbuf = v }
		return
	}
	if (q == "\"" || q == "'") {
		i = quoted_end(v, 1)
		emit(p, unquote(i ? substr(v, 1, i) : v))
		return
	}
	hold = 1; hpath = p; hval = v; hind = ind
}

# block_line(LINE): takes LINE into the block scalar being read; 0 when it ends it.
function block_line(line,    i) {
	if (line ~ /^[ \t]*$/) { blines[++bn] = ""; return 1 }
	match(line, /^ */)
	i = RLENGTH
	if (bind < 0) { if (i <= bparent) { end_block(); return 0 }; bind = i }
	if (i < bind) { end_block(); return 0 }
	blines[++bn] = substr(line, bind + 1)
	return 1
}

function end_block(    last, i, v, trail) {
	blk = 0
	for (last = bn; last > 0 && blines[last] == ""; last--) ;
	v = ""
	for (i = 1; i <= last; i++) {
		if (i == 1) v = blines[i]
		else if (bstyle == "|" || blines[i] == "" || blines[i - 1] == "" || blines[i] ~ /^[ \t]/) v = v "\n" blines[i]
		else v = v " " blines[i]
	}
	if (last > 0 && bchomp != "-") v = v "\n"
	if (bchomp == "+") for (i = last + 1; i <= bn; i++) v = v "\n"
	emit(bpath, v)
}

# quoted_end(S, I): index of the quote that closes the one at I, 0 if none.
function quoted_end(s, i,    q, n, ch) {
	q = substr(s, i, 1)
	n = length(s)
	for (i++; i <= n; i++) {
		ch = substr(s, i, 1)
		if (q == "\"" && ch == "\\") { i++; continue }
		if (ch == q) {
			if (q == "'" && substr(s, i + 1, 1) == "'") { i++; continue }
			return i
		}
	}
	return 0
}

# unquote(S): the value of a quoted scalar (S with its quotes).
function unquote(s,    q, out, i, n, ch, e, cp) {
	q = substr(s, 1, 1)
	if (q != "\"" && q != "'") return s
	s = substr(s, 2)
	if (substr(s, length(s), 1) == q) s = substr(s, 1, length(s) - 1)
	if (q == "'") { gsub(/''/, "'", s); return s }
	out = ""
	n = length(s)
	for (i = 1; i <= n; i++) {
		ch = substr(s, i, 1)
		if (ch != "\\") { out = out ch; continue }
		e = substr(s, ++i, 1)
		if (e == "n") out = out "\n"
		else if (e == "t") out = out "\t"
		else if (e == "r") out = out "\r"
		else if (e == "0") out = out ""
		else if (e == "u") { cp = hex(substr(s, i + 1, 4)); i += 4; out = out utf8(cp) }
		else if (e == "x") { cp = hex(substr(s, i + 1, 2)); i += 2; out = out utf8(cp) }
		else out = out e # \" \\ \/ and the rest: the character itself
	}
	return out
}

function hex(s,    i, v) {
	v = 0
	for (i = 1; i <= length(s); i++) v = v * 16 + index("0123456789abcdef", tolower(substr(s, i, 1))) - 1
	return v
}

function utf8(c) {
	if (c < 128) return sprintf("%c", c)
	if (c < 2048) return sprintf("%c%c", 192 + int(c / 64), 128 + c % 64)
	return sprintf("%c%c%c", 224 + int(c / 4096), 128 + int(c / 64) % 64, 128 + c % 64)
}

# strip_comment(S): S without a " #..." comment; quotes that open a scalar protect "#".
function strip_comment(s,    i, n, ch, prev, j) {
	n = length(s)
	prev = " "
	for (i = 1; i <= n; i++) {
		ch = substr(s, i, 1)
		if ((ch == "\"" || ch == "'") && prev ~ /[[{ \t:,-]/) {
			j = quoted_end(s, i)
			if (j == 0) return s
			i = j
			prev = ch
			continue
		}
		if (ch == "#" && prev ~ /[ \t]/) return substr(s, 1, i - 1)
		prev = ch
	}
	return s
}

# balanced(S): every [ and { in S (outside quotes) is closed.
function balanced(s,    i, n, ch, d, j) {
	n = length(s)
	d = 0
	for (i = 1; i <= n; i++) {
		ch = substr(s, i, 1)
		if (ch == "\"" || (ch == "'" && substr(s, i - 1, 1) ~ /^$|[[{ \t\n:,]/)) {
			j = quoted_end(s, i)
			if (j == 0) return 0
			i = j
		} else if (ch == "[" || ch == "{") d++
		else if (ch == "]" || ch == "}") d--
	}
	return d <= 0
}

function flow_parse(p, s) { FS_ = s; FP = 1; fnode(p) }

function fws() { while (FP <= length(FS_) && substr(FS_, FP, 1) ~ /[ \t\n]/) FP++ }

function fnode(p,    ch, k, i) {
	fws()
	ch = substr(FS_, FP, 1)
	if (ch == "{") {
		FP++
		for (;;) {
			fws()
			ch = substr(FS_, FP, 1)
			if (ch == "}") { FP++; return }
			if (ch == "") return
			k = fscalar(1)
			fws()
			if (substr(FS_, FP, 1) == ":") { FP++; fnode(join(p, k)) } else emit(join(p, k), "")
			fws()
			ch = substr(FS_, FP++, 1)
			if (ch != ",") return
		}
	}
	if (ch == "[") {
		FP++
		i = 0
		for (;;) {
			fws()
			ch = substr(FS_, FP, 1)
			if (ch == "]") { FP++; return }
			if (ch == "") return
			fnode(join(p, i++))
			fws()
			ch = substr(FS_, FP++, 1)
			if (ch != ",") return
		}
	}
	emit(p, fscalar(0))
}

# fscalar(): a scalar in a flow collection; a plain one ends at ",", "]", "}" or ": ".
function fscalar(unused,    ch, start, j, v) {
	ch = substr(FS_, FP, 1)
	if (ch == "\"" || ch == "'") {
		j = quoted_end(FS_, FP)
		if (j == 0) j = length(FS_)
		v = unquote(substr(FS_, FP, j - FP + 1))
		FP = j + 1
		return v
	}
	start = FP
	for (; FP <= length(FS_); FP++) {
		ch = substr(FS_, FP, 1)
		if (ch == "," || ch == "]" || ch == "}") break
		if (ch == ":" && substr(FS_, FP + 1, 1) ~ /^$|[]} \t\n,]/) break
	}
	v = substr(FS_, start, FP - start)
	gsub(/\n/, " ", v)
	sub(/^[ \t]+/, "", v)
	sub(/[ \t]+$/, "", v)
	return v
}
