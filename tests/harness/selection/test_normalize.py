from harness.selection.normalize import normalized_patch, vote_key


def diff(path: str, old: list[str], new: list[str], start: int = 1, context: list[str] | None = None) -> str:
    ctx = context or []
    body = [f" {c}\n" for c in ctx] + [f"-{o}\n" for o in old] + [f"+{n}\n" for n in new]
    return (f"diff --git a/{path} b/{path}\n--- a/{path}\n+++ b/{path}\n"
            f"@@ -{start},{len(ctx) + len(old)} +{start},{len(ctx) + len(new)} @@\n" + "".join(body))


BASE = diff("pkg/mod.py", ["    return a"], ["    return a + 1"], context=["def f(a):"])


def test_comments_blank_lines_and_formatting_do_not_split_a_vote():
    variants = [
        diff("pkg/mod.py", ["    return a"], ["    # add one", "    return   (a+1)  # why"], start=7),
        diff("pkg/mod.py", ["    return a"], ["", "    return a + 1", ""], context=["def f(a):"]),
        diff("pkg/mod.py", ["    return a"], ["    return (", "        a", "        + 1", "    )"], start=30),
    ]
    assert {vote_key(v) for v in variants} == {vote_key(BASE)}


def test_different_code_splits_the_vote():
    assert vote_key(diff("pkg/mod.py", ["    return a"], ["    return a + 2"])) != vote_key(BASE)
    assert vote_key(diff("pkg/other.py", ["    return a"], ["    return a + 1"])) != vote_key(BASE)
    # indentation is meaning in Python
    nested = diff("pkg/mod.py", ["    x = 1", "    y = 2"], ["    if a:", "        x = 1", "    y = 2"])
    flat = diff("pkg/mod.py", ["    x = 1", "    y = 2"], ["    if a:", "        x = 1", "        y = 2"])
    assert vote_key(nested) != vote_key(flat)


def test_string_quote_style_is_formatting():
    a = diff("m.py", ["x = 1"], ["x = 'a'"])
    b = diff("m.py", ["x = 1"], ['x = "a"'])
    assert vote_key(a) == vote_key(b)


def test_a_comment_only_hunk_adds_nothing():
    two = BASE + "@@ -40,1 +40,2 @@\n x = 3\n+# a note\n"
    assert vote_key(two) == vote_key(BASE)


def test_empty_patch_never_votes_and_unparseable_text_keys_by_its_text():
    assert vote_key("") is None and vote_key("  \n") is None
    assert vote_key("not a diff at all") != vote_key("not a diff either")
    assert normalized_patch("not  a diff").startswith("raw:")


def test_a_block_cut_by_bad_indentation_is_not_merged_with_its_prefix():
    a = diff("m.py", ["x = 1"], ["if a:", "    y = 1", "  z = 2"])
    b = diff("m.py", ["x = 1"], ["if a:", "    y = 1", "  w = 3"])
    assert vote_key(a) != vote_key(b)


def test_a_new_scratch_script_at_the_root_does_not_split_the_vote():
    script = "diff --git a/reproduce_bug.py b/reproduce_bug.py\nnew file mode 100644\n--- /dev/null\n+++ b/reproduce_bug.py\n@@ -0,0 +1,1 @@\n+print(1)\n"
    assert vote_key(BASE + script) == vote_key(BASE)
    package_file = script.replace("reproduce_bug.py", "pkg/new.py")
    assert vote_key(BASE + package_file) != vote_key(BASE)


def test_docstring_only_changes_do_not_split_a_vote():
    plain = diff("m.py", ["    return a"], ["    return a + 1"])
    documented = diff("m.py", ["    return a"], ['    """Add one (issue 42)."""', "    return a + 1"])
    rewritten = diff("m.py", ['    """Old words."""'], ['    """New words,', "    on two lines.", '    """'])
    assert vote_key(documented) == vote_key(plain)
    assert vote_key(plain + rewritten.split("\n", 3)[3]) == vote_key(plain)  # a docstring-only hunk adds nothing
    # a string that is a value is code, not documentation
    assert vote_key(diff("m.py", ["x = 1"], ["x = 'a'"])) != vote_key(diff("m.py", ["x = 1"], ["x = 'b'"]))


def test_what_a_file_header_says_splits_a_vote():
    rename = "diff --git a/old.py b/new.py\nsimilarity index 100%\nrename from old.py\nrename to new.py\n"
    other = rename.replace("old.py", "other.py")
    assert vote_key(rename) != vote_key(other)
    assert vote_key(rename) == vote_key(rename.replace("similarity index 100%", "similarity index 98%"))
    mode = "diff --git a/x.sh b/x.sh\nold mode 100644\nnew mode 100755\n"
    assert vote_key(mode) != vote_key(mode.replace("100755", "100700"))
    created = ("diff --git a/pkg/new.py b/pkg/new.py\nnew file mode 100644\n--- /dev/null\n+++ b/pkg/new.py\n"
               "@@ -0,0 +1,1 @@\n+x = 1\n")
    edited = "diff --git a/pkg/new.py b/pkg/new.py\n--- a/pkg/new.py\n+++ b/pkg/new.py\n@@ -1,0 +1,1 @@\n+x = 1\n"
    assert vote_key(created) != vote_key(edited)


def test_line_endings_count():
    assert vote_key(BASE.replace("\n", "\r\n")) != vote_key(BASE)
    assert vote_key(BASE.replace("\n", "\r\n")) == vote_key(BASE.replace("\n", "\r\n").replace("a + 1", "a+1"))


def test_adversarial_patches_key_without_failing():
    binary = ("diff --git a/x.png b/x.png\nindex 111..222 100644\nGIT binary patch\nliteral 5\nMcmZ?wbhEa8+\n\n"
              "literal 0\nHcmV?d00001\n\n")
    assert vote_key(binary) != vote_key(binary.replace("McmZ?wbhEa8+", "McmZ?wbhEa9+"))
    deep = diff("m.py", ["x = 1"], ["x = " + "(" * 5000 + "1" + ")" * 5000])
    assert vote_key(deep) != vote_key(diff("m.py", ["x = 1"], ["x = " + "(" * 5000 + "2" + ")" * 5000]))
    garbage = "diff --git a/x b/x\n--- a/x\n+++ b/x\n@@ -1,3 +1,3 @@\n-x\n"
    assert normalized_patch(garbage).startswith("raw:")
    assert vote_key("\0\0\xff") is not None and vote_key(BASE.replace("a + 1", "a\0 + 1")) != vote_key(BASE)
    many = diff("m.py", ["x = 1"], [f"x{i} = {i}" for i in range(20000)])
    assert vote_key(many) != vote_key(many.replace("x19999 = 19999", "x19999 = 0"))


def test_non_python_files_compare_lines_with_whitespace_collapsed():
    a = diff("docs/usage.rst", ["Old  text."], ["New text,   here."])
    b = diff("docs/usage.rst", ["Old text."], ["  New  text, here. "], start=12)
    assert vote_key(a) == vote_key(b)
    assert vote_key(a) != vote_key(diff("docs/usage.rst", ["Old text."], ["New text, there."]))
    # a '#' line is text in a non-Python file, not a comment
    assert vote_key(diff("setup.cfg", ["x = 1"], ["# x = 1"])) != vote_key(diff("setup.cfg", ["x = 1"], ["# x = 2"]))
