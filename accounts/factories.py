"""Test and demo data for accounts (factory-boy); `seed_demo` uses them at run time."""

import factory

from .models import User

# Every user a factory makes can sign in with it: the tests' and the demo's password.
DEFAULT_PASSWORD = "correct-horse-battery-staple"  # noqa: S105 (known on purpose)


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    email = factory.LazyAttribute(lambda o: f"{o.username}@example.com")
    display_name = factory.Faker("name")
    password = factory.PostGenerationMethodCall("set_password", DEFAULT_PASSWORD)

    @factory.post_generation
    def _save(obj, create, extracted, **kwargs):
        if create:
            obj.save()
