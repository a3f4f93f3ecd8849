"""Writes a PEP 503 "simple" index for the wheels in <root>/files: <root>/simple/index.html
lists the projects, <root>/simple/<project>/index.html links each file with its sha256, so
pip verifies what it downloads. Static files, so any plain HTTP server can serve them."""
import hashlib
import html
import pathlib
import re
import sys

root = pathlib.Path(sys.argv[1])
files = sorted((root / "files").glob("*.whl"))


def normalize(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


projects: dict[str, list[pathlib.Path]] = {}
for wheel in files:
    projects.setdefault(normalize(wheel.name.split("-")[0]), []).append(wheel)


def page(title: str, links: list[str]) -> str:
    return (
        "<!DOCTYPE html>\n<html><head><meta name=\"pypi:repository-version\" content=\"1.0\">"
        f"<title>{html.escape(title)}</title></head><body>\n" + "\n".join(links) + "\n</body></html>\n"
    )


simple = root / "simple"
simple.mkdir(parents=True, exist_ok=True)
for project, wheels in projects.items():
    links = []
    for wheel in wheels:
        digest = hashlib.sha256(wheel.read_bytes()).hexdigest()
        links.append(f'<a href="../../files/{html.escape(wheel.name)}#sha256={digest}">{html.escape(wheel.name)}</a><br>')
    (simple / project).mkdir(exist_ok=True)
    (simple / project / "index.html").write_text(page(f"Links for {project}", links))
index = [f'<a href="{p}/">{p}</a><br>' for p in sorted(projects)]
(simple / "index.html").write_text(page("Simple index", index))
print(f"index: {len(projects)} projects, {len(files)} files")
