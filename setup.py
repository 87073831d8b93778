"""The course travels inside the package.

The lessons (notebooks/), exercises/ and solutions/, and the README the lessons
link to, sit at the top of the repository: their one copy in git. Building a
wheel copies them into the package as bplib/course/, where bplib.workspace finds
them (solutions included: they are the self-study answers). The sdist carries
them at the top, as git has them (MANIFEST.in), so a wheel built from the sdist
gets them too. An editable install needs no copy: bplib finds the checkout's
folders. Everything else is in pyproject.toml.
"""

import shutil
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

COURSE_FOLDERS = ("notebooks", "exercises", "solutions")
COURSE_FILES = ("README.md",)  # the lessons link to it
SKIPPED = shutil.ignore_patterns(".ipynb_checkpoints", "__pycache__", "*.pyc")


class build_py_with_course(build_py):
    def run(self):
        super().run()
        if getattr(self, "editable_mode", False):
            return
        here = Path(__file__).resolve().parent
        course = Path(self.build_lib) / "bplib" / "course"
        for folder in COURSE_FOLDERS:
            if not (here / folder).is_dir():
                raise FileNotFoundError(f"setup.py: the course folder {folder}/ is missing")
            shutil.rmtree(course / folder, ignore_errors=True)
            shutil.copytree(here / folder, course / folder, ignore=SKIPPED)
        for name in COURSE_FILES:
            shutil.copyfile(here / name, course / name)


setup(cmdclass={"build_py": build_py_with_course})
