"""Render stage, DOCX, the plain path: a form's Word file, through docxtpl and python-docx.

``render`` fills templates/form.docx and writes the body from the document model (the same model as the
PDF); ``package`` writes the zip reproducibly; ``template_check`` refuses a clinic's form.docx that could
do harm. The batch's shared twin (the same bytes, faster) is :mod:`consent.speedups.shared_docx`.
"""
