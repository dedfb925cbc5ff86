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
