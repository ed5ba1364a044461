"""Rendering: terminal tables (:mod:`~costlab.render.layout` keeps them uncropped), JSON, CSV, Markdown,
CI annotations, figures and the report page. Renderers format what the layers below computed; they
never compute a cost themselves, and they never write files (the command line does, through
:mod:`costlab.files`)."""
