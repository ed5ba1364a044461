"""Results across many models, collected for publishing: the report (:mod:`~costlab.publish.collect`),
its folder (:mod:`~costlab.publish.folder`) and the zoo listing (:mod:`~costlab.publish.zoo`)."""
