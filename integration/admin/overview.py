from django.http import HttpResponse


def overview_view(request):
    return HttpResponse("")
