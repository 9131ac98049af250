"""Serves the e2e JupyterLab host with Debian's jupyterlab_server (no Python `jupyterlab` package).

Prebuilt extensions are read from MILKIT_LABEXTENSIONS (a directory of <package>/{package.json,
static/}: the layout of a user's share/jupyter/labextensions), exactly like JupyterLab proper.
"""
import json
import os

from jupyterlab_server import LabServerApp

HERE = os.path.dirname(os.path.abspath(__file__))
BUILD = os.path.join(HERE, "build")
APP_PACKAGE = os.path.join(HERE, "..", "..", "..", "node_modules", "@jupyterlab", "application", "package.json")
os.environ["JUPYTER_NO_CONFIG"] = "1"


def _jupyter_server_extension_points():
    return [{"module": __name__, "app": MilkitE2EApp}]


class MilkitE2EApp(LabServerApp):
    name = __name__
    app_name = "JupyterLab (milkit e2e host)"
    app_url = "/lab"
    extension_url = "/lab"
    default_url = "/lab"
    load_other_extensions = False
    app_version = json.load(open(APP_PACKAGE))["version"]
    app_settings_dir = os.path.join(BUILD, "application_settings")
    schemas_dir = os.path.join(BUILD, "schemas")
    static_dir = BUILD
    templates_dir = os.path.join(HERE, "templates")
    themes_dir = os.path.join(BUILD, "themes")
    # Fresh user settings and workspace per run (the tests pass both): nothing carried over from an
    # earlier or manual session (a saved theme or open tabs change what the tests see).
    user_settings_dir = os.environ.get("MILKIT_USER_SETTINGS", os.path.join(BUILD, "user_settings"))
    workspaces_dir = os.environ.get("MILKIT_WORKSPACES", os.path.join(BUILD, "workspaces"))
    labextensions_path = [os.environ["MILKIT_LABEXTENSIONS"]]


if __name__ == "__main__":
    MilkitE2EApp.launch_instance()
