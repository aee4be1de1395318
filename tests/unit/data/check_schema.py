#!/usr/bin/env python3
"""Check schema/topology.schema.json against the topology test files.

usage: check_schema.py SOURCE_DIR DATA_DIR

- examples/*.yaml and DATA_DIR/good/*.yaml must validate;
- DATA_DIR/bad/*.yaml must not, except the files listed in bad/schema-valid.txt (mistakes that
  only skyreconcile can see: cross references, libpq syntax), which must validate.

Exit 0 when all is as expected, 1 when not, 77 when python3-yaml or python3-jsonschema is missing
(test_topology then fails: .ci/deps.sh installs them).
"""
import glob
import json
import os
import re
import sys

try:
    import jsonschema
    import yaml
except ImportError as e:
    print(f"cannot check the schema: {e}", file=sys.stderr)
    sys.exit(77)


class Loader(yaml.SafeLoader):
    """PyYAML's safe loader, made closer to what skyreconcile reads: YAML 1.2 booleans only
    (yes/no/on/off are strings) and duplicate keys are errors."""

    def construct_mapping(self, node, deep=False):
        seen = set()
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=deep)
            if key in seen:
                raise yaml.constructor.ConstructorError(
                    None, None, f"duplicate key {key!r}", key_node.start_mark)
            seen.add(key)
        return super().construct_mapping(node, deep=deep)


Loader.yaml_implicit_resolvers = {
    first: [r for r in resolvers if r[0] != "tag:yaml.org,2002:bool"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
Loader.add_implicit_resolver(
    "tag:yaml.org,2002:bool", re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"), list("tTfF"))


def problems(validator, path):
    """The reasons path does not validate (empty when it does)."""
    try:
        with open(path, "rb") as f:
            docs = list(yaml.load_all(f, Loader=Loader))
    except (yaml.YAMLError, UnicodeDecodeError, TypeError) as e:
        return [f"not loadable: {str(e).splitlines()[0]}"]
    if len(docs) != 1:
        return [f"{len(docs)} documents"]
    return [f"{'/'.join(map(str, e.absolute_path))}: {e.message}"
            for e in validator.iter_errors(docs[0])]


def main():
    src, data = sys.argv[1], sys.argv[2]
    with open(os.path.join(src, "schema", "topology.schema.json")) as f:
        schema = json.load(f)
    jsonschema.Draft202012Validator.check_schema(schema)
    validator = jsonschema.Draft202012Validator(schema)

    with open(os.path.join(data, "bad", "schema-valid.txt")) as f:
        allowed = {line.split("#")[0].strip() for line in f} - {""}

    failures = 0
    good = sorted(glob.glob(os.path.join(src, "examples", "*.yaml")) +
                  glob.glob(os.path.join(data, "good", "*.yaml")))
    for path in good:
        for p in problems(validator, path):
            print(f"{path}: should validate: {p}")
            failures += 1
    for path in sorted(glob.glob(os.path.join(data, "bad", "*.yaml"))):
        name = os.path.basename(path)
        valid = not problems(validator, path)
        if valid and name not in allowed:
            print(f"{path}: the schema accepts it (list it in bad/schema-valid.txt if only "
                  "skyreconcile can see the mistake)")
            failures += 1
        elif not valid and name in allowed:
            print(f"{path}: listed in bad/schema-valid.txt but the schema rejects it")
            failures += 1
    print(f"schema check: {len(good)} valid files, {failures} failures")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
