//! The parser: tokens to a lossless tree of directives.
//!
//! Iterative (an explicit stack, no recursion), so hostile nesting cannot
//! overflow the stack. Each directive keeps the byte ranges of its name, its
//! parameters, its terminating `;` or its block braces; comments are kept in
//! order. Nothing is normalised: the file's bytes stay the source of truth,
//! and the ranges tile it, so printing a parsed file gives back identical
//! bytes and an edit can replace one range without touching anything else.
//!
//! On a syntax error nginx stops; hopscope records the error with its
//! position, keeps every directive that was complete before it, and closes
//! any open blocks, so the rest of the tree can still be analysed.

use compact_str::CompactString;

use super::lexer::{word_value, LexError, Lexer, TokenKind};
use super::source::Range;

/// How deep blocks may nest inside one file. nginx has no such limit, but
/// real configurations stay far below it and a hostile file must not make
/// later stages pay for unbounded depth.
pub const MAX_DEPTH: usize = 1000;

/// Index of a directive in [`Ast::nodes`].
pub type NodeId = u32;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Word {
    /// The raw token, quotes included: the word was quoted when its first
    /// byte is `"` or `'`.
    pub range: Range,
    /// The value nginx sees (quotes removed, escapes applied); derefs to
    /// `str`, and is held inline up to 24 bytes.
    pub value: CompactString,
}

#[derive(Clone, Debug)]
pub struct Directive {
    pub name: Word,
    /// Exactly as long as the parameters: the tree is never edited in place.
    pub args: Box<[Word]>,
    /// From the first byte of the name to the end of the `;` or the `}`.
    pub range: Range,
    /// Boxed: most directives have none, and the parse tree holds one
    /// `Directive` per line of configuration.
    pub block: Option<Box<Block>>,
    /// The enclosing directive, if any (within the same file).
    pub parent: Option<NodeId>,
}

#[derive(Clone, Debug)]
pub struct Block {
    /// Offset of `{`.
    pub open: u32,
    /// Offset of `}`; the end of the file when the block is never closed.
    pub close: u32,
    pub closed: bool,
    /// The block's content is not nginx syntax (a Lua block) and was kept opaque.
    pub opaque: bool,
    pub children: Vec<NodeId>,
}

impl Directive {
    pub fn name(&self) -> &str {
        &self.name.value
    }
    pub fn arg(&self, i: usize) -> Option<&str> {
        self.args.get(i).map(|w| &*w.value)
    }
    /// The parameters joined by single spaces.
    pub fn args_joined(&self) -> String {
        let mut s = String::new();
        for (i, a) in self.args.iter().enumerate() {
            if i > 0 {
                s.push(' ');
            }
            s.push_str(&a.value);
        }
        s
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SyntaxError {
    pub offset: u32,
    pub message: String,
}

/// The parsed form of one file.
#[derive(Clone, Debug, Default)]
pub struct Ast {
    pub nodes: Vec<Directive>,
    pub roots: Vec<NodeId>,
    /// Ranges of `#` comments, in order.
    pub comments: Vec<Range>,
    /// At most one error: like nginx, parsing stops at the first one.
    pub error: Option<SyntaxError>,
}

impl Ast {
    pub fn node(&self, id: NodeId) -> &Directive {
        &self.nodes[id as usize]
    }
    pub fn children(&self, id: NodeId) -> &[NodeId] {
        self.nodes[id as usize]
            .block
            .as_ref()
            .map_or(&[], |b| &b.children)
    }
}

/// Whether the block a directive opens holds Lua code rather than nginx syntax.
pub fn is_lua_block(name: &str) -> bool {
    name.ends_with("_by_lua_block") || name == "lua_block"
}

/// What the parser holds while it reads: the words of the directive being
/// read, and the children of every open block (and the roots) gathered in
/// one list, so that each block gets its children in one allocation of the
/// exact size when it closes instead of a list grown one child at a time.
struct Pending {
    words: Vec<Word>,
    /// Children of the open blocks, innermost last; the roots first.
    kids: Vec<NodeId>,
}

/// Room for the directives and comments of `src`: a directive ends at a
/// `;` or opens a block at a `{` and a comment starts with `#`, so these
/// counts bound what the tree holds (quoted ones make them a little high).
fn capacities(src: &[u8]) -> (usize, usize) {
    let ends = memchr::memchr2_iter(b';', b'{', src).count();
    let comments = memchr::memchr_iter(b'#', src).count();
    (ends, comments)
}

pub fn parse(src: &[u8]) -> Ast {
    let (nodes, comments) = capacities(src);
    let mut ast = Ast {
        nodes: Vec::with_capacity(nodes),
        comments: Vec::with_capacity(comments),
        ..Ast::default()
    };
    let mut lexer = Lexer::new(src);
    // Open blocks: the directive that opened each, and where its children
    // start in `pending.kids`.
    let mut stack: Vec<(NodeId, usize)> = Vec::new();
    let mut pending = Pending {
        words: Vec::new(),
        kids: Vec::new(),
    };

    let fail = |ast: &mut Ast, offset: usize, message: String| {
        ast.error = Some(SyntaxError {
            offset: offset as u32,
            message,
        });
    };

    loop {
        let tok = match lexer.next_token() {
            Ok(t) => t,
            Err(LexError { offset, message }) => {
                fail(&mut ast, offset, message);
                break;
            }
        };
        match tok.kind {
            TokenKind::Word { quoted } => {
                let raw = &src[tok.range.as_usize()];
                pending.words.push(Word {
                    range: tok.range,
                    value: word_value(raw, quoted),
                });
            }
            TokenKind::Comment => ast.comments.push(tok.range),
            TokenKind::Semicolon => {
                if pending.words.is_empty() {
                    fail(
                        &mut ast,
                        tok.range.start as usize,
                        "unexpected \";\"".into(),
                    );
                    break;
                }
                push_directive(&mut ast, &stack, &mut pending, tok.range.end, None);
            }
            TokenKind::OpenBrace => {
                if pending.words.is_empty() {
                    fail(
                        &mut ast,
                        tok.range.start as usize,
                        "unexpected \"{\"".into(),
                    );
                    break;
                }
                if stack.len() >= MAX_DEPTH {
                    fail(
                        &mut ast,
                        tok.range.start as usize,
                        format!("blocks are nested more than {MAX_DEPTH} levels deep"),
                    );
                    break;
                }
                let lua = is_lua_block(&pending.words[0].value);
                let block = Block {
                    open: tok.range.start,
                    close: src.len() as u32,
                    closed: false,
                    opaque: lua,
                    children: Vec::new(),
                };
                let id = push_directive(
                    &mut ast,
                    &stack,
                    &mut pending,
                    src.len() as u32,
                    Some(Box::new(block)),
                );
                if lua {
                    match lexer.skip_lua_block() {
                        Ok(close) => close_block(&mut ast, id, close as u32),
                        Err(e) => {
                            fail(&mut ast, e.offset, e.message);
                            break;
                        }
                    }
                } else {
                    stack.push((id, pending.kids.len()));
                }
            }
            TokenKind::CloseBrace => {
                if !pending.words.is_empty() {
                    fail(
                        &mut ast,
                        tok.range.start as usize,
                        "unexpected \"}\"".into(),
                    );
                    break;
                }
                match stack.pop() {
                    Some((id, from)) => {
                        adopt(&mut ast, id, &mut pending.kids, from);
                        close_block(&mut ast, id, tok.range.start);
                    }
                    None => {
                        fail(
                            &mut ast,
                            tok.range.start as usize,
                            "unexpected \"}\"".into(),
                        );
                        break;
                    }
                }
            }
            TokenKind::Eof => {
                if !pending.words.is_empty() {
                    fail(
                        &mut ast,
                        src.len(),
                        "unexpected end of file, expecting \";\" or \"}\"".into(),
                    );
                } else if !stack.is_empty() {
                    fail(
                        &mut ast,
                        src.len(),
                        "unexpected end of file, expecting \"}\"".into(),
                    );
                }
                break;
            }
        }
    }
    // Blocks left open by an error or a truncated file end at the end of the file.
    while let Some((id, from)) = stack.pop() {
        adopt(&mut ast, id, &mut pending.kids, from);
        ast.nodes[id as usize].range.end = src.len() as u32;
    }
    ast.roots = pending.kids;
    ast.roots.shrink_to_fit();
    // A configuration is loaded whole: return what the estimates left over.
    ast.nodes.shrink_to_fit();
    ast.comments.shrink_to_fit();
    ast
}

fn push_directive(
    ast: &mut Ast,
    stack: &[(NodeId, usize)],
    pending: &mut Pending,
    end: u32,
    block: Option<Box<Block>>,
) -> NodeId {
    // The pending list keeps its buffer for the next directive; the
    // arguments get one of their exact size.
    let mut words = pending.words.drain(..);
    let name = words.next().expect("caller checked that a name is pending");
    let args: Box<[Word]> = words.collect();
    let id = ast.nodes.len() as NodeId;
    let parent = stack.last().map(|&(p, _)| p);
    ast.nodes.push(Directive {
        range: Range {
            start: name.range.start,
            end,
        },
        name,
        args,
        block,
        parent,
    });
    pending.kids.push(id);
    id
}

/// Gives the block of `id` the children gathered since `from`, exactly.
fn adopt(ast: &mut Ast, id: NodeId, kids: &mut Vec<NodeId>, from: usize) {
    if let Some(b) = ast.nodes[id as usize].block.as_mut() {
        b.children = kids.drain(from..).collect();
    }
}

fn close_block(ast: &mut Ast, id: NodeId, close: u32) {
    let node = &mut ast.nodes[id as usize];
    node.range.end = close + 1;
    if let Some(b) = node.block.as_mut() {
        b.close = close;
        b.closed = true;
    }
}

/// Every range the tree covers (names, parameters, `;`, braces, comments),
/// in file order. Between two consecutive ranges there is only whitespace,
/// which is what makes the tree lossless: see [`reprint`].
pub fn token_ranges(ast: &Ast) -> Vec<Range> {
    let mut out = Vec::with_capacity(ast.nodes.len() * 3 + ast.comments.len());
    for d in &ast.nodes {
        out.push(d.name.range);
        out.extend(d.args.iter().map(|w| w.range));
        match &d.block {
            None => out.push(Range::new(d.range.end as usize - 1, d.range.end as usize)),
            Some(b) => {
                out.push(Range::new(b.open as usize, b.open as usize + 1));
                if b.opaque && b.closed {
                    out.push(Range::new(b.open as usize + 1, b.close as usize));
                }
                if b.closed {
                    out.push(Range::new(b.close as usize, b.close as usize + 1));
                }
            }
        }
    }
    out.extend(ast.comments.iter().copied());
    out.sort_by_key(|r| (r.start, r.end));
    out
}

/// Prints a parsed file back from its tree: the covered ranges and the
/// whitespace between them. For a file without syntax errors this returns
/// exactly the original bytes.
pub fn reprint(ast: &Ast, src: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(src.len());
    let mut at = 0usize;
    for r in token_ranges(ast) {
        let gap = &src[at..r.start as usize];
        out.extend_from_slice(gap);
        out.extend_from_slice(&src[r.as_usize()]);
        at = r.end as usize;
    }
    out.extend_from_slice(&src[at..]);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(ast: &Ast, ids: &[NodeId]) -> Vec<String> {
        ids.iter()
            .map(|&i| ast.node(i).name().to_string())
            .collect()
    }

    #[test]
    fn tree_and_ranges() {
        let src = b"http {\n  server { listen 80; }\n  # note\n}\nevents {}\n";
        let ast = parse(src);
        assert!(ast.error.is_none());
        assert_eq!(names(&ast, &ast.roots), ["http", "events"]);
        let http = ast.roots[0];
        assert_eq!(names(&ast, ast.children(http)), ["server"]);
        let server = ast.children(http)[0];
        let listen = ast.children(server)[0];
        assert_eq!(&src[ast.node(listen).range.as_usize()], b"listen 80;");
        assert_eq!(ast.comments.len(), 1);
        assert_eq!(reprint(&ast, src), src);
    }

    #[test]
    fn gaps_between_tokens_are_only_whitespace() {
        let src = b"a 'b' \"c\" ; # x\r\nd { e; } f_by_lua_block { if x then y = {} end } g;";
        let ast = parse(src);
        assert!(ast.error.is_none(), "{:?}", ast.error);
        let mut at = 0;
        for r in token_ranges(&ast) {
            assert!(src[at..r.start as usize]
                .iter()
                .all(|b| b" \t\r\n".contains(b)));
            at = r.end as usize;
        }
        assert_eq!(reprint(&ast, src), src);
        assert_eq!(names(&ast, &ast.roots), ["a", "d", "f_by_lua_block", "g"]);
    }

    #[test]
    fn errors_keep_what_came_before() {
        let ast = parse(b"a;\nb {\n c;\n");
        let e = ast.error.as_ref().unwrap();
        assert_eq!(e.message, "unexpected end of file, expecting \"}\"");
        assert_eq!(ast.nodes.len(), 3);

        let ast = parse(b"a;\n}\nb;");
        assert_eq!(ast.error.as_ref().unwrap().message, "unexpected \"}\"");
        assert_eq!(ast.error.as_ref().unwrap().offset, 3);
        assert_eq!(ast.nodes.len(), 1);

        assert_eq!(
            parse(b"a b").error.unwrap().message,
            "unexpected end of file, expecting \";\" or \"}\""
        );
        assert_eq!(parse(b"a { ; }").error.unwrap().message, "unexpected \";\"");
        assert_eq!(parse(b"a { b }").error.unwrap().message, "unexpected \"}\"");
    }

    #[test]
    #[cfg(target_pointer_width = "64")]
    fn tree_nodes_stay_small() {
        // One `Directive` per line of configuration and one `Word` per
        // parameter: their size is most of the parse tree's memory.
        assert_eq!(std::mem::size_of::<Word>(), 32);
        assert_eq!(std::mem::size_of::<Directive>(), 72);
    }

    #[test]
    fn deep_nesting_is_an_error_not_a_crash() {
        let src = "a {".repeat(10_000);
        let ast = parse(src.as_bytes());
        assert!(ast.error.unwrap().message.contains("nested more than"));
    }
}
