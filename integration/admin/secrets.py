"""Write-only secret inputs: a stored secret is never sent back to the browser, and a blank input keeps it."""

from __future__ import annotations

from django import forms


class WriteOnlyTextarea(forms.Textarea):
    """A textarea that never renders its value (for PEM certificates)."""

    def get_context(self, name, value, attrs):
        return super().get_context(name, None, attrs)


class SecretsForm(forms.ModelForm):
    """A model form whose `secret_fields` are write-only: blank keeps the stored value, a tick clears it.

    The plaintext is dropped from the form's initial data, so no widget, template or error can show it.
    """

    secret_fields: tuple[str, ...] = ()

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for name in self.secret_fields:
            stored = bool(self.instance.pk and getattr(self.instance, name))
            self.initial[name] = ""
            field = self.fields[name]
            field.required = False
            if isinstance(field.widget, forms.Textarea):
                field.widget = WriteOnlyTextarea(attrs={"rows": 4, "autocomplete": "off"})
            else:
                field.widget = forms.PasswordInput(render_value=False, attrs={"autocomplete": "new-password"})
            field.help_text = ("A value is stored, encrypted; it is never shown. Leave blank to keep it."
                               if stored else "Not set. Stored encrypted once saved; never shown again.")
            clear = f"clear_{name}"
            if clear in self.fields and not stored:
                self.fields[clear].disabled = True

    def clean(self):
        cleaned = super().clean()
        for name in self.secret_fields:
            if cleaned.get(f"clear_{name}"):
                cleaned[name] = ""
            elif not cleaned.get(name):
                cleaned[name] = getattr(self.instance, name, "") if self.instance.pk else ""
        return cleaned

    @property
    def changed_data(self):
        """A secret counts as changed only when a new one was typed or it was cleared (history stays honest)."""
        changed = [name for name in super().changed_data if name not in self.secret_fields]
        for name in self.secret_fields:
            if self.data.get(self.add_prefix(name)) or self.data.get(self.add_prefix(f"clear_{name}")):
                changed.append(name)
        return changed
